#pragma once
// pyfold dump: the current Python stack of every thread of a process, once, like py-spy dump.
#include <sys/types.h>

#include <string>

namespace pyfold::record {

struct DumpOptions {
  pid_t pid = 0;
  bool nolineno = false;
  bool async = false;  // each asyncio task's await chain instead of the event loop's stack (CPython 3.14+)
  bool native = false;      // each thread's native frames too (stopped alone for the moment, as record --native)
  bool native_all = false;  // every native frame (the interpreter's own, the thread's start)
  // Read the threads while they run (retried when torn), as py-spy dump --nonblocking; by default the process is
  // stopped for the moment of the read, so that every thread's stack is of one instant.
  bool nonblocking = false;
  // The Python descendants of the process too (needed when the process itself is not Python: a shell, a shim).
  bool subprocesses = false;
  bool locals = false;  // each frame's arguments and local variables, with a short repr (as py-spy dump --locals)
};

struct DumpCommandLine {
  DumpOptions options;
  bool help = false, version = false;
  std::string help_text;
};

DumpCommandLine parse_dump_command_line(int argc, const char* const* argv);

// Writes the dump to stdout. Throws AttachError when the process cannot be read; returns the exit code
// (kExitPythonDescendants when the process is not Python but its descendants are, named on stderr).
int dump_stacks(const DumpOptions& options);

}  // namespace pyfold::record
