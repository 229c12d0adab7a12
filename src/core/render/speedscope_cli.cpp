#include "pyfold/render/speedscope_cli.hpp"

#include <boost/program_options.hpp>
#include <stdexcept>

#include "pyfold/command_line.hpp"

namespace po = boost::program_options;

namespace pyfold {

SpeedscopeCommandLine parse_speedscope_command_line(int argc, const char* const* argv) {
  SpeedscopeCommandLine cli;
  SpeedscopeOptions& o = cli.options;  // starts as the defaults, which --help shows
  std::string unit = unit_name(o.unit), interval;
  bool no_split = !o.split_threads;
  po::options_description visible(
      "Usage: pyflame-speedscope [OPTIONS] [FILE...] > out.speedscope.json\n"
      "Folded stacks (FILE..., - or stdin, read in order; gzip read by magic bytes) to a speedscope file\n"
      "(https://www.speedscope.app): sampled profiles in input (time) order, one per thread root.\n\nOptions");
  add_help_and_version(visible)
    ("output,o", po::value(&cli.output)->value_name("FILE"), "write here (.gz: gzip) instead of stdout")
    ("name", po::value(&o.name)->value_name("TEXT"), "the profile's name [the first input's file name, or stdin]")
    ("unit", po::value(&unit)->default_value(unit)->value_name("UNIT"),
     "unit of the weights: none (counts), seconds, milliseconds, microseconds, nanoseconds or bytes; "
     "with --interval, none means the interval's unit")
    ("interval", po::value(&interval)->value_name("DURATION"),
     "each count lasts this long (1ms for a 1 kHz recording): weights become times; ns, us, ms or s")
    ("no-split", po::bool_switch(&no_split),
     "one profile, even when stacks start with process PID:\"...\" / thread (TID): NAME / <task> NAME root frames")
    ("pretty", po::bool_switch(&o.pretty), "indented JSON")
    ("strict", po::bool_switch(&o.strict), "stop at the first invalid line (exit 2)");
  po::variables_map vm = parse_options_and_inputs(
      argc, argv, visible, cli.inputs, "See pyflame-speedscope(1) and pyfold-folded(5).", cli.help_text, cli.help,
      cli.version);
  if (cli.help || cli.version) return cli;
  if (!parse_unit(unit, o.unit))
    throw std::invalid_argument("unknown --unit '" + unit +
                                "': expected none, seconds, milliseconds, microseconds, nanoseconds or bytes");
  if (vm.count("interval")) o.interval = parse_interval(interval);
  o.split_threads = !no_split;
  validate(o);
  return cli;
}

}  // namespace pyfold
