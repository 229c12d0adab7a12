#pragma once
// `perf script` output to folded stacks, as brendangregg/FlameGraph's stackcollapse-perf.pl folds it (the same
// options, frames and counts), plus Python >= 3.12 perf trampoline frames `py::qualname:/path/file.py`, which become
// `qualname (/path/file.py)`.
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/collapse/format.hpp"
#include "pyfold/diagnostics.hpp"
#include "pyfold/io.hpp"

namespace pyfold::collapse {

struct PerfOptions {
  bool pid = false;           // --pid: comm-PID as the root frame
  bool tid = false;           // --tid: comm-PID/TID as the root frame
  bool kernel = false;        // --kernel: kernel frames get a _[k] suffix
  bool jit = false;           // --jit: frames from /tmp/perf-PID.map get _[j] (not Python frames)
  bool addrs = false;         // --addrs: [unknown] frames keep their address, [dso <0x...>]
  std::string event_filter;   // --event-filter: keep this event; "" keeps the first event type seen
  bool python_only = false;   // --python-only: keep only Python frames (under the comm frame)
  bool native_leaf = false;   // --native-leaf: with --python-only, keep the native leaf frame too
};

// From the first bytes of an input: a record header followed by a frame line or a blank line.
Applicable perf_applicable(std::string_view head);

// Reads a whole `perf script` text and sends one stack per sample (count: the period, or 1). Lines that are no
// part of a record go to invalid. Returns warnings for the user.
std::vector<std::string> collapse_perf(InputSource& input, const PerfOptions& options, StackSink& sink,
                                       InvalidLineLog& invalid);

}  // namespace pyfold::collapse
