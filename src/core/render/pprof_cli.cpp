#include "pyfold/render/pprof_cli.hpp"

#include <boost/program_options.hpp>

#include "pyfold/command_line.hpp"

namespace po = boost::program_options;

namespace pyfold {

PprofCommandLine parse_pprof_command_line(int argc, const char* const* argv) {
  PprofCommandLine cli;
  PprofOptions& o = cli.options;  // starts as the defaults, which --help shows
  std::string interval;
  po::options_description visible(
      "Usage: pyflame-pprof [OPTIONS] [FILE...] > profile.pb.gz\n"
      "Folded stacks (FILE..., - or stdin, read in order; gzip read by magic bytes) to a gzip-compressed pprof\n"
      "profile.proto, as go tool pprof, Grafana Pyroscope and Parca read it.\n\nOptions");
  add_help_and_version(visible)
    ("output,o", po::value(&cli.output)->value_name("FILE"), "write here instead of stdout (gzip-compressed either way)")
    ("interval", po::value(&interval)->value_name("DURATION"),
     "each count lasts this long (1ms for a 1 kHz recording): the sample type becomes cpu/nanoseconds "
     "[none: samples/count]; ns, us, ms or s")
    ("strict", po::bool_switch(&o.strict), "stop at the first invalid line (exit 2)");
  po::variables_map vm = parse_options_and_inputs(argc, argv, visible, cli.inputs,
                                                  "See pyflame-pprof(1) and pyfold-folded(5).", cli.help_text,
                                                  cli.help, cli.version);
  if (cli.help || cli.version) return cli;
  if (vm.count("interval")) o.interval = parse_interval(interval);
  return cli;
}

}  // namespace pyfold
