#pragma once
// --native: one stack from a thread's Python frames and its native frames, as the program really nests.
//
// Each native _PyEval_EvalFrameDefault frame runs a run of Python frames: <= 3.10 exactly one, 3.11+ the frames
// from the innermost up to an entry frame (FrameRef::entry). The runs are paired with the eval frames from the root
// when the unwind reached the thread's first frame (only the innermost eval call can be between starting and
// running its first Python frame, or between its last and returning), else from the leaf (an unwind cut short
// loses outer frames); Python runs left without an eval frame are kept (at the root, or innermost), never dropped.
//
// Unless keep_all: the native frames outside the outermost Python frame (the thread's start, the interpreter's
// start-up) are left out, so that stacks start at the same Python frames as without --native; between two Python
// frames the interpreter's frames are left out (foreign ones, as libffi, qsort and _ctypes in a ctypes callback,
// stay); inside the innermost Python frame the interpreter's calling machinery is left out and its other functions
// (builtins, where the time goes) stay.
#include <vector>

#include "pyfold/record/native/native_unwinder.hpp"
#include "pyfold/record/cpython/stack_walker.hpp"

namespace pyfold::record {

struct MergedFrame {
  const FrameRef* python = nullptr;      // one of these two
  const NativeSymbol* native = nullptr;
};

// Where an unwind stopped before the thread's first frame (no call-frame information for a return address, as in
// some libffi closure trampolines): written as a frame `[native stack cut short] (no unwind information)`.
extern const NativeSymbol kCutShort;

// python: innermost first (ThreadStack::frames); native: innermost first. out: root first.
void merge_native_stack(const std::vector<FrameRef>& python, const NativeStack& native, bool keep_all,
                        std::vector<MergedFrame>& out);

}  // namespace pyfold::record
