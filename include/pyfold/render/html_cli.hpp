#pragma once
// pyflame-html's command line: its option table and what it parses into.
#include <string>
#include <vector>

#include "pyfold/render/html.hpp"

namespace pyfold {

struct HtmlCommandLine {
  HtmlOptions options;
  std::vector<std::string> inputs;  // none: stdin
  std::string output;               // "": stdout
  bool help = false, version = false;
  std::string help_text;            // the --help text
};

// Parses pyflame-html's arguments; throws boost::program_options::error or std::invalid_argument.
HtmlCommandLine parse_html_command_line(int argc, const char* const* argv);

}  // namespace pyfold
