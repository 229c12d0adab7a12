#pragma once
// The tables of pyflame-html's report, from a merged tree: each frame split into its function and line, functions
// and files interned once, and per-line and per-function self and total counts. A total counts a stack once even
// when the function (or line) occurs in it several times (recursion). Frames without a line (native code,
// --nolineno, `func (file)`) count at their function only. Written as the documented --json shape.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pyfold/io.hpp"
#include "pyfold/stack_tree.hpp"

namespace pyfold {

struct LineCounts {
  double self = 0, total = 0;
  double self_delta = 0, total_delta = 0;  // differential input only: the change (after minus before)
};

struct ReportFunction {
  std::string name;             // `func` of `func (file:line)`; a whole frame that has no location
  std::int32_t file = -1;       // index into ReportData::files, -1: none
  LineCounts counts;            // the function's self and total
  std::uint64_t hottest_line = 0;  // its line with the largest total (first on ties), 0: none
};

struct ReportFile {
  std::string path;                          // as recorded in the frames
  std::map<std::uint64_t, LineCounts> lines;  // line number -> counts
  LineCounts counts;                         // self: the file's frames' self; total: stacks through it, once each
};

struct ReportData {
  double total = 0;  // every sample
  bool differential = false;
  std::vector<ReportFile> files;          // in order of first appearance in the tree
  std::vector<ReportFunction> functions;  // in order of first appearance in the tree
  struct Frame {
    std::uint32_t function;
    std::uint64_t line;  // 0: none
  };
  std::vector<Frame> frames;  // by StackTree name id
  // The tree in preorder (siblings by name, as the flame graph draws them), one entry per node but the root: its
  // frame's StackTree name id, number of children and total. For differential input, deltas[i] is preorder[i]'s
  // self delta and the change in its subtree (the sum of the self deltas in it).
  struct Node {
    std::uint32_t name, children;
    double total;
  };
  std::vector<Node> preorder;
  struct Delta {
    double self, subtree;
  };
  std::vector<Delta> deltas;
  std::uint32_t root_children = 0;
};

// Builds the tables from a finished tree.
ReportData build_report_data(const StackTree& tree);

// Functions' indices by self count, then total, then name: the hot-spot table's first order.
std::vector<std::uint32_t> functions_by_self(const ReportData& data);

// Writes {"total": N, "differential": B, "files": {"PATH": {"self": N, "total": N, "lines": {"LINE": {"self": N,
// "total": N}}}}, "functions": [{"name", "file", "line", "self", "total"}, ...]} (functions by self count; deltas as
// "self_delta"/"total_delta" when differential). pretty: indented.
void write_report_json(const ReportData& data, OutputSink& out, bool pretty);

}  // namespace pyfold
