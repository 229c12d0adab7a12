// merge_native_stack: where --native puts each thread's Python frames among its native frames, and which native
// frames it leaves out.
#include <catch2/catch.hpp>
#include <deque>
#include <string>
#include <vector>

#include "pyfold/record/native/native_merge.hpp"

using namespace pyfold::record;

namespace {

struct Stacks {
  std::deque<CodeInfo> codes;
  std::deque<NativeSymbol> symbols;
  std::vector<FrameRef> python;  // innermost first
  NativeStack native;            // innermost first

  // Python frames are added innermost first; entry: the outermost frame of its eval call's run.
  Stacks& py(const char* name, bool entry, std::uint64_t shim = 0) {
    codes.push_back(CodeInfo{});
    codes.back().name = name;
    FrameRef f{&codes.back(), 1};
    f.entry = entry;
    f.shim = shim;
    python.push_back(f);
    return *this;
  }
  // Native frames, innermost first.
  Stacks& c(const char* name, NativeKind kind, std::uint64_t sp = 0) {
    symbols.push_back(NativeSymbol{name, "mod", kind});
    native.frames.push_back(&symbols.back());
    if (sp) native.stack_pointers.push_back(sp);
    return *this;
  }

  std::string merged(bool keep_all = false) const {
    std::vector<MergedFrame> out;
    merge_native_stack(python, native, keep_all, out);
    std::string text;
    for (const MergedFrame& f : out) {
      if (!text.empty()) text += ';';
      if (f.python) text += "py:" + f.python->code->name;
      else text += f.native == &kCutShort ? std::string("CUT") : f.native->name;
    }
    return text;
  }
};

constexpr NativeKind eval = NativeKind::eval, machinery = NativeKind::machinery,
                     interp = NativeKind::interpreter, lib = NativeKind::library;

// A thread's start, as the unwinder sees it (innermost first).
void thread_start(Stacks& s) {
  s.c("Py_RunMain", interp).c("__libc_start_main", lib).c("_start", lib);
  s.native.complete = true;
}

}  // namespace

TEST_CASE("3.11+: one eval frame runs several Python frames, up to its entry frame", "[native]") {
  Stacks s;
  s.py("g", false).py("f", true).py("main", false).py("<module>", true);
  s.c("list_sort_impl", interp).c("PyObject_Vectorcall", machinery).c("_PyEval_EvalFrameDefault", eval);
  s.c("qsort", lib).c("_ctypes_callproc", lib).c("_PyObject_Call", machinery).c("_PyEval_EvalFrameDefault", eval);
  s.c("PyEval_EvalCode", machinery);
  thread_start(s);
  // The interpreter's calling machinery and its start-up left out; the foreign frames between the two runs and the
  // builtin at the leaf (where the time goes) kept.
  CHECK(s.merged() == "py:<module>;py:main;_ctypes_callproc;qsort;py:f;py:g;list_sort_impl");
  // --native-all: every native frame, from the thread's native root.
  CHECK(s.merged(true) ==
        "_start;__libc_start_main;Py_RunMain;PyEval_EvalCode;py:<module>;py:main;_PyObject_Call;_ctypes_callproc;"
        "qsort;py:f;py:g;PyObject_Vectorcall;list_sort_impl");
}

TEST_CASE("<= 3.10: one eval frame a Python frame", "[native]") {
  Stacks s;
  s.py("g", true).py("f", true).py("main", true).py("<module>", true);
  s.c("deflate", lib).c("zlib_compress", lib).c("cfunction_vectorcall_FASTCALL", machinery);
  for (int i = 0; i < 4; ++i) s.c("_PyEval_EvalFrameDefault", eval).c("_PyFunction_Vectorcall", machinery);
  thread_start(s);
  CHECK(s.merged() == "py:<module>;py:main;py:f;py:g;zlib_compress;deflate");
}

TEST_CASE("interpreter frames between Python frames are left out unless --native-all", "[native]") {
  Stacks s;
  s.py("inner", true).py("outer", true);
  s.c("_PyEval_EvalFrameDefault", eval).c("slot_tp_call", machinery).c("builtin_map_next", interp);
  s.c("_PyEval_EvalFrameDefault", eval);
  thread_start(s);
  CHECK(s.merged() == "py:outer;py:inner");
  CHECK(s.merged(true) == "_start;__libc_start_main;Py_RunMain;py:outer;builtin_map_next;slot_tp_call;py:inner");
}

TEST_CASE("an unwind cut short is marked where the native frames resume, no run dropped", "[native]") {
  Stacks s;
  s.py("cmp", true).py("sort_it", false).py("<module>", true);
  // Unwound from the callback up to a trampoline without unwind information: the outer eval frame is not reached.
  s.c("_PyEval_EvalFrameDefault", eval).c("_CallPythonObject", lib).c("libffi.so.8+0xc3f8", lib);
  s.native.complete = false;
  CHECK(s.merged() == "py:<module>;py:sort_it;CUT;libffi.so.8+0xc3f8;_CallPythonObject;py:cmp");
  CHECK(s.merged(true) == "CUT;py:<module>;py:sort_it;libffi.so.8+0xc3f8;_CallPythonObject;py:cmp");
}

TEST_CASE("frames that could not be symbolised are kept under their module and offset", "[native]") {
  Stacks s;
  s.py("work", true).py("<module>", true);
  s.c("libfoo.so+0x1230", lib).c("0x7f0012345678", lib).c("_PyEval_EvalFrameDefault", eval);
  s.c("libbar.so+0x40", lib).c("_PyEval_EvalFrameDefault", eval);
  thread_start(s);
  CHECK(s.merged() == "py:<module>;libbar.so+0x40;py:work;0x7f0012345678;libfoo.so+0x1230");
}

TEST_CASE("3.12+: a run goes to the native frame whose stack holds its shim, named or not", "[native]") {
  Stacks s;
  // Stack pointers grow toward the root; each frame's locals lie from its own up to its caller's.
  s.py("g", false).py("f", true, 0x1500).py("<module>", true, 0x3500);
  s.c("time_sleep", interp, 0x1000).c("python3.12+0x4a0", interp, 0x1400);  // an LTO part of the eval loop
  s.c("qsort", lib, 0x2000).c("python3.12+0x4a0", interp, 0x3000);
  s.c("Py_RunMain", interp, 0x4000).c("__libc_start_main", lib, 0x5000).c("_start", lib, 0x6000);
  s.native.complete = true;
  CHECK(s.merged() == "py:<module>;qsort;py:f;py:g;time_sleep");

  // Cut short below the outer run's eval frame: its shim lies above every unwound frame, so it is not placed in
  // the outermost one (whose extent is unknown) but at the root, before the mark.
  Stacks cut;
  cut.py("g", false).py("f", true, 0x1500).py("<module>", true, 0x3500);
  cut.c("time_sleep", interp, 0x1000).c("python3.12+0x4a0", interp, 0x1400).c("qsort", lib, 0x2000);
  cut.native.complete = false;
  CHECK(cut.merged() == "py:<module>;CUT;qsort;py:f;py:g;time_sleep");
}
