#pragma once
// pyflame-speedscope's command line: its option table and what it parses into.
#include <string>
#include <vector>

#include "pyfold/render/speedscope.hpp"

namespace pyfold {

struct SpeedscopeCommandLine {
  SpeedscopeOptions options;
  std::vector<std::string> inputs;  // none: stdin
  std::string output;               // "": stdout
  bool help = false, version = false;
  std::string help_text;            // the --help text
};

// Parses pyflame-speedscope's arguments; throws boost::program_options::error or std::invalid_argument.
SpeedscopeCommandLine parse_speedscope_command_line(int argc, const char* const* argv);

}  // namespace pyfold
