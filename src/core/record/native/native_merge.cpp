// --native: Python runs put in at their eval frames, then the interpreter's own frames left out where they say
// nothing.
#include "pyfold/record/native/native_merge.hpp"

#include <algorithm>

namespace pyfold::record {

const NativeSymbol kCutShort{"[native stack cut short]", "no unwind information", NativeKind::library};

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
  const std::size_t n = native.frames.size(), s = runs.size();
  auto emit_run = [&](std::size_t r) {
    for (std::size_t i = runs[r].outer + 1; i-- > runs[r].inner;) out.push_back({&python[i], nullptr});
  };

  // 3.12+: the native frame whose stack range holds a run's shim (a local of its _PyEval_EvalFrameDefault) is that
  // run's eval frame, named or not (LTO builds split and clone the eval loop into unnamed parts).
  std::vector<long> run_at(n, -1);
  bool by_address = false;
  if (native.stack_pointers.size() == n) {
    for (std::size_t r = 0; r < s; ++r) {
      std::uint64_t shim = python[runs[r].outer].shim;
      if (!shim) continue;
      for (std::size_t k = 0; k < n; ++k) {
        // (the outermost frame's extent is known only when it is the thread's first: an unwind cut short does
        // not know where the frame it stopped at ends, and the runs outside it are not in it)
        std::uint64_t lo = native.stack_pointers[k], hi = k + 1 < n ? native.stack_pointers[k + 1]
                                                      : native.complete ? ~0ull : lo;
        if (lo <= shim && shim < hi) {
          run_at[k] = static_cast<long>(r);
          by_address = true;
          break;
        }
      }
    }
  }
  if (!by_address) {
    // By name: the eval frames, paired with the runs from the root when the unwind is complete, else from the leaf.
    std::vector<std::size_t> evals;  // positions in native.frames, root first
    for (std::size_t k = n; k-- > 0;)
      if (native.frames[k]->kind == NativeKind::eval) evals.push_back(k);
    const std::size_t e = evals.size(), paired = std::min(e, s);
    for (std::size_t i = 0; i < paired; ++i) {
      if (native.complete) run_at[evals[i]] = static_cast<long>(i);
      else run_at[evals[e - 1 - i]] = static_cast<long>(s - 1 - i);
    }
  }
  // Root first. A run without its eval frame goes just before the next run that has one (an unwind cut short:
  // the outer runs at the root), or innermost; never dropped.
  std::size_t next_run = 0;
  if (!native.complete) {
    // The runs outside the first one placed by its eval frame, then a frame saying the native stack was cut here.
    std::size_t first = s;
    for (std::size_t k = n; k-- > 0 && first == s;)
      if (run_at[k] >= 0) first = static_cast<std::size_t>(run_at[k]);
    // (--native-all: the stack's root is where it was cut; else the mark goes where the native frames resume)
    if (keep_all) out.push_back({nullptr, &kCutShort});
    for (; next_run < first; ++next_run) emit_run(next_run);
    if (!keep_all) out.push_back({nullptr, &kCutShort});
  }
  for (std::size_t k = n; k-- > 0;) {
    const NativeSymbol* sym = native.frames[k];
    if (run_at[k] >= 0) {
      std::size_t r = static_cast<std::size_t>(run_at[k]);
      for (; next_run <= r; ++next_run) emit_run(next_run);
      continue;
    }
    if (sym->kind == NativeKind::eval && !keep_all) continue;  // an eval call between starting and running a frame
    out.push_back({nullptr, sym});
  }
  for (; next_run < s; ++next_run) emit_run(next_run);
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
