#pragma once
// pyfold diff: two profiles (any format pyfold collapse reads) to differential folded lines "STACK BEFORE AFTER",
// as brendangregg/FlameGraph's difffolded.pl writes them, for pyflame-svg's red/blue differential graph.
#include <string>
#include <vector>

#include "pyfold/collapse/collapse.hpp"

namespace pyfold::collapse {

struct DiffOptions {
  bool normalize = false;   // -n: scale BEFORE counts so both totals match (int(c1 * total2 / total1))
  bool strip_hex = false;   // -s: hex numbers (addresses) become 0x... so runs compare
  CollapseOptions collapse; // how each profile is read (--format, --strict)
};

struct DiffReport {
  std::vector<std::string> warnings;
  std::size_t stacks = 0;
};

// Writes every stack of before and after, sorted, with both counts (0 where a profile lacks the stack).
DiffReport diff_files(const DiffOptions& options, const std::string& before, const std::string& after,
                      const std::string& output);

struct DiffCommandLine {
  DiffOptions options;
  std::vector<std::string> inputs;
  std::string output;
  bool help = false, version = false;
  std::string help_text;
};

DiffCommandLine parse_diff_command_line(int argc, const char* const* argv);

}  // namespace pyfold::collapse
