#pragma once
// pyflame-pprof's command line: its option table and what it parses into.
#include <string>
#include <vector>

#include "pyfold/render/pprof.hpp"

namespace pyfold {

struct PprofCommandLine {
  PprofOptions options;
  std::vector<std::string> inputs;  // none: stdin
  std::string output;               // "": stdout
  bool help = false, version = false;
  std::string help_text;            // the --help text
};

// Parses pyflame-pprof's arguments; throws boost::program_options::error or std::invalid_argument.
PprofCommandLine parse_pprof_command_line(int argc, const char* const* argv);

}  // namespace pyfold
