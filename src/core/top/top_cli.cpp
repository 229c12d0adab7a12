// pyfold top's command line: pyfold record's options that change what is sampled (record_cli.cpp's table), and
// top's own.
#include <stdexcept>

#include "pyfold/top/top.hpp"

namespace po = boost::program_options;

namespace pyfold::top {

TopCommandLine parse_top_command_line(int argc, const char* const* argv) {
  TopCommandLine cli;
  TopOptions& t = cli.top;
  record::SamplingCommand command;
  command.usage =
      "Usage: pyfold top [OPTIONS] script.py [ARGS...]\n"
      "       pyfold top [OPTIONS] -m MODULE [ARGS...]\n"
      "       pyfold top [OPTIONS] -- COMMAND [ARGS...]\n"
      "       pyfold top [OPTIONS] --pid PID\n"
      "Shows live where a CPython 3.8-3.15 program spends its time: each function's own and total share\n"
      "of the samples, sampled as pyfold record samples.\n\nOptions";
  command.add_options = [&t](po::options_description& visible) {
    visible.add_options()
      ("interval", po::value(&t.interval)->default_value(t.interval)->value_name("SECONDS"),
       "refresh every SECONDS (the last-interval window's length)")
      ("once", po::bool_switch(&t.once), "print one table after one interval and exit (ending a launched program)")
      ("sort", po::value(&t.sort)->default_value(t.sort)->value_name("own|total|name"), "the rows' order")
      ("window", po::value(&t.window)->default_value(t.window)->value_name("all|last"),
       "all: everything since the start; last: the last interval")
      ("lines", po::bool_switch(&t.lines), "a row a line (`func (file:line)`), not a function")
      ("program-output", po::value(&t.program_output)->value_name("FILE"),
       "a launched program's stdout and stderr go to FILE [under the full-screen view /dev/null, else stderr]");
  };
  command.help_end =
      "\nKeys: o/i/n sort by own, total (inclusive) or name; w last interval or since the start; p pause;\n"
      "t pick a thread; / filter by a regular expression; q or Ctrl-C quit (an attached program keeps running,\n"
      "a launched one is ended). Not on a terminal: a plain-text table every interval. See pyfold-top(1).\n";
  cli.record = record::parse_sampling_command_line(argc, argv, command);
  if (cli.record.help || cli.record.version) return cli;
  if (!(t.interval >= 0.1 && t.interval <= 3600)) throw std::invalid_argument("--interval must be 0.1 to 3600 seconds");
  if (t.sort != "own" && t.sort != "total" && t.sort != "name")
    throw std::invalid_argument("--sort is own, total or name, not '" + t.sort + "'");
  if (t.window != "all" && t.window != "last")
    throw std::invalid_argument("--window is all or last, not '" + t.window + "'");
  if (!t.program_output.empty() && cli.record.target.pid)
    throw std::invalid_argument("--program-output is a launched program's: not with --pid");
  record::RecordOptions& o = cli.record.options;
  o.threads = true;      // the thread picker needs each stack's thread
  o.nolineno = !t.lines; // rows by function: one frame a function
  o.quiet = true;
  return cli;
}

}  // namespace pyfold::top
