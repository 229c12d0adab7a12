// --native: Python runs put in at their eval frames, then the interpreter's own frames left out where they say
// nothing.
#include "pyfold/record/native_merge.hpp"

#include <algorithm>

namespace pyfold::record {

void merge_native_stack(const std::vector<FrameRef>& python, const NativeStack& native, bool keep_all,
                        std::vector<MergedFrame>& out) {
  out.clear();
  // Runs of Python frames, root first, as [first, last] indexes into python (innermost first): a run ends (going
  // out) at an entry frame.
  struct Run {
    std::size_t inner, outer;
  };
  std::vector<Run> runs;
  for (std::size_t i = 0; i < python.size();) {
    std::size_t j = i;
    while (j + 1 < python.size() && !python[j].entry) ++j;
    runs.push_back({i, j});
    i = j + 1;
  }
  std::reverse(runs.begin(), runs.end());
  const std::size_t n = native.frames.size();
  std::vector<std::size_t> evals;  // positions in native.frames, root first
  for (std::size_t k = n; k-- > 0;)
    if (native.frames[k]->kind == NativeKind::eval) evals.push_back(k);
  const std::size_t e = evals.size(), s = runs.size(), paired = std::min(e, s);
  // run_of[eval index] = run index, or -1
  std::vector<long> run_of(e, -1);
  std::size_t first_run = 0, last_run = 0;  // the runs paired: [first_run, last_run)
  if (native.complete) {
    for (std::size_t i = 0; i < paired; ++i) run_of[i] = static_cast<long>(i);
    first_run = 0, last_run = paired;
  } else {
    for (std::size_t i = 0; i < paired; ++i) run_of[e - 1 - i] = static_cast<long>(s - 1 - i);
    first_run = s - paired, last_run = s;
  }
  auto emit_run = [&](std::size_t r) {
    for (std::size_t i = runs[r].outer + 1; i-- > runs[r].inner;) out.push_back({&python[i], nullptr});
  };
  for (std::size_t r = 0; r < first_run; ++r) emit_run(r);  // outer runs an unwind cut short did not reach
  std::size_t next_eval = 0;
  for (std::size_t k = n; k-- > 0;) {
    const NativeSymbol* sym = native.frames[k];
    if (next_eval < e && evals[next_eval] == k) {
      long r = run_of[next_eval++];
      if (r >= 0) {
        emit_run(static_cast<std::size_t>(r));
        // The innermost paired eval frame also runs the runs it has no eval frame for (an eval frame missed).
        if (static_cast<std::size_t>(r) + 1 == last_run)
          for (std::size_t extra = last_run; extra < s; ++extra) emit_run(extra);
      } else if (keep_all) {
        out.push_back({nullptr, sym});
      }
      continue;
    }
    out.push_back({nullptr, sym});
  }
  if (paired == 0)  // no eval frame at all: the Python frames go innermost
    for (std::size_t r = first_run; r < s; ++r) emit_run(r);
  if (keep_all) return;

  // Leave out what says nothing: see the header.
  std::size_t first_py = out.size(), last_py = 0;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i].python) first_py = std::min(first_py, i), last_py = i;
  if (first_py == out.size()) return;  // no Python frame: the native stack as it is
  std::size_t kept = 0;
  for (std::size_t i = first_py; i < out.size(); ++i) {
    const MergedFrame& f = out[i];
    if (f.native) {
      NativeKind kind = f.native->kind;
      if (i < last_py && kind != NativeKind::library) continue;
      if (i > last_py && (kind == NativeKind::machinery || kind == NativeKind::eval)) continue;
    }
    out[kept++] = f;
  }
  out.resize(kept);
}

}  // namespace pyfold::record
