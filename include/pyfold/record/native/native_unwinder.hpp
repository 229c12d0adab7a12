#pragma once
// --native: the C/C++ stack of one stopped thread of another process, unwound with elfutils' libdwfl (the CFI of
// each mapped module: .eh_frame, .debug_frame), and its frames named from the modules' symbol tables.
//
// Per mapped module libdwfl keeps what it has read (ELF, CFI, symbol table); here each return address is named
// once (a cache by address, then by function). An address in no known module makes the module list be read again
// from /proc/PID/maps (an extension dlopen'ed after start) and the thread unwound again when a module is new; such
// re-reads that find nothing new are made less and less often (from every 8th unwind to every 1024th).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pyfold/record/os/process_memory.hpp"

namespace pyfold::record {

enum class NativeKind : std::uint8_t {
  eval,         // the interpreter's _PyEval_EvalFrameDefault: where Python frames go
  machinery,    // the interpreter's own calling code (vectorcall, PyObject_Call, the eval helpers)
  interpreter,  // other functions of the interpreter's module (builtins, the object model, start-up)
  library,      // any other module: extensions, libc, libz, ...
};

struct NativeSymbol {
  std::string name;    // demangled; `module+0xADDR` (the function's start in the file) when not in any symbol table
  std::string module;  // file name of the module (libz.so.1), "[unknown]" outside every mapped file
  NativeKind kind = NativeKind::library;
  mutable std::uint32_t frame_id = UINT32_MAX;  // the recorder's interned frame text, once made
};

// How the unwind of a thread ended.
struct NativeStack {
  std::vector<const NativeSymbol*> frames;  // innermost first
  std::vector<std::uint64_t> stack_pointers;  // each frame's (its locals lie from there up to its caller's)
  bool complete = false;  // reached the thread's first frame (its root: _start, clone)
  bool in_syscall = false;  // stopped waiting in a system call (so not on a CPU)
};

class NativeUnwinder {
 public:
  // interpreter_file: the file that holds CPython's runtime (libpython, or the python executable when static).
  NativeUnwinder(pid_t pid, MemoryReader& memory, const std::string& interpreter_file);
  ~NativeUnwinder();
  NativeUnwinder(const NativeUnwinder&) = delete;
  NativeUnwinder& operator=(const NativeUnwinder&) = delete;

  // Unwinds thread tid, which the caller keeps stopped under ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT). false when
  // its registers cannot be read (it has gone); a partial stack is complete = false.
  bool unwind(pid_t tid, NativeStack& out);
  const std::string& last_error() const { return error_; }
  std::uint64_t unwinds() const { return unwinds_; }

  // The kind a function of the interpreter's module has, by its name (exposed for the unit tests).
  static NativeKind interpreter_kind(const std::string& name);

  struct State;  // libdwfl's handle and the per-unwind memory cache

 private:
  const NativeSymbol* symbol(std::uint64_t pc);
  bool report_modules();

  std::unique_ptr<State> state_;
  std::string interpreter_;  // file name (no directory)
  std::unordered_map<std::uint64_t, const NativeSymbol*> by_pc_;
  std::unordered_map<std::string, std::unique_ptr<NativeSymbol>> by_function_;  // module + start -> symbol
  static constexpr std::uint64_t kMinRefreshInterval = 8, kMaxRefreshInterval = 1024;
  std::uint64_t unwinds_ = 0, last_refresh_ = 0, refresh_interval_ = kMinRefreshInterval;
  std::string error_;
};

}  // namespace pyfold::record
