#pragma once
// pyflame-svg's command line: its option table and what it parses into.
#include <string>
#include <vector>

#include "pyfold/render/svg.hpp"

namespace pyfold {

struct SvgCommandLine {
  SvgOptions options;
  std::vector<std::string> inputs;  // none: stdin
  std::string output;               // "": stdout
  bool help = false, version = false;
  std::string help_text;            // the --help text
};

// Parses pyflame-svg's arguments; throws boost::program_options::error or std::invalid_argument.
SvgCommandLine parse_svg_command_line(int argc, const char* const* argv);

}  // namespace pyfold
