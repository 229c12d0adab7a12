#pragma once
// austin's text output (P403n1x87/austin): one sample per line,
//   P<pid>;T<iid>:<tid>;file:function:line;...;file:function:line METRIC
// with METRIC in microseconds (wall, cpu), bytes (memory) or "time,idle,memory" (full mode: the time is read).
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/io.hpp"

namespace pyfold::collapse {

struct AustinOptions {
  bool threads = false;  // --threads: keep the process and thread as root frames ("process PID;thread TID")
};

// From the first bytes of an input: "# austin:" metadata, or a first sample line starting "P<digits>;T".
Applicable austin_applicable(std::string_view head);

// Frames become `function (file:line)`; `# ` metadata lines are skipped; :INVALID: frames are dropped (and
// counted in a warning); samples whose metric is 0 or negative (memory freed) add nothing.
std::vector<std::string> collapse_austin(InputSource& input, const AustinOptions& options, StackSink& sink,
                                         InvalidLineLog& invalid);

}  // namespace pyfold::collapse
