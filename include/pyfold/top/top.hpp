#pragma once
// pyfold top: a live view of where a running Python program spends its time. It records with pyfold record's core
// (the same options of what is sampled, the same sampler), its stacks going to a second sink (live_counts.hpp)
// instead of a profile; a full-screen ncurses view (top_screen.hpp) or, when standard output is not a terminal, a
// plain-text table every interval.
#include <string>

#include "pyfold/record/recorder.hpp"
#include "pyfold/top/top_model.hpp"

namespace pyfold::top {

// pyfold top's own options, with their defaults (shown by --help).
struct TopOptions {
  double interval = 1;          // seconds between refreshes (and the last-interval window's length)
  bool once = false;            // one table after one interval, then exit
  std::string sort = "own";     // own|total|name
  std::string window = "all";   // all: since the start; last: the last interval
  bool lines = false;           // a row a line, not a function
  std::string program_output;   // where a launched program's stdout and stderr go under the full-screen view
};

struct TopCommandLine {
  record::RecordCommandLine record;  // what is sampled: pyfold record's options and target
  TopOptions top;
};

// Parses pyfold top's arguments. Throws boost::program_options::error or std::invalid_argument.
TopCommandLine parse_top_command_line(int argc, const char* const* argv);

// Runs the view until q, Ctrl-C, SIGTERM, --once's table or the program's end; returns pyfold top's exit code:
// 0 when the user quit (or --once), the launched program's own when it ended by itself. The terminal is given
// back before it returns or throws.
int run_top(const TopCommandLine& cli);

}  // namespace pyfold::top
