// capture-snapshot PID OUTPUT.snap.gz: stops every thread of a Python process (ptrace), reads their stacks once
// through a memory reader that keeps every byte it reads, lets them go, and writes the snapshot (snapshot_file.hpp).
// Used by tests/unit/snapshots/make.sh; see its README.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "../snapshot_file.hpp"
#include "pyfold/record/cpython/python_process.hpp"
#include "pyfold/record/os/thread_pauser.hpp"

using namespace pyfold::record;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: capture-snapshot PID OUTPUT.snap.gz\n");
    return 2;
  }
  try {
    pid_t pid = static_cast<pid_t>(std::atoi(argv[1]));
    auto process = PythonProcess::attach(pid);
    testing::Snapshot snapshot;
    snapshot.minor = process->runtime().minor();
    snapshot.runtime = process->runtime();
    snapshot.pid = pid;
    ProcessMemory live(pid);
    RecordingMemory recording(live);
    std::vector<ThreadStack> stacks;
    std::vector<std::string> names;
    StackWalker::Read result;
    {
      ThreadPauser pauser(pid);
      if (!pauser.pause()) throw std::runtime_error("cannot stop the threads");
      std::vector<unsigned char> debug(kDebugOffsetsReadSize);
      if (snapshot.minor >= 13) recording.read(snapshot.runtime.runtime, debug.data(), debug.size());
      StackWalker walker(recording, snapshot.runtime, pid);
      result = walker.read_stacks(stacks);
      ThreadNames thread_names(recording, snapshot.runtime);
      thread_names.update(stacks);
      for (const ThreadStack& t : stacks) names.push_back(thread_names.name(t));
      if (result != StackWalker::Read::ok) throw std::runtime_error("the stacks could not be read");
      snapshot.stacks = testing::format_stacks(stacks, names);  // while the walker (its code objects) lives
    }  // the threads run again here
    snapshot.memory = recording.captured();
    testing::save_snapshot(argv[2], snapshot);
    std::fprintf(stderr, "capture-snapshot: %s: %zu threads, %zu bytes in %zu regions\n", argv[2], stacks.size(),
                 snapshot.memory.bytes(), snapshot.memory.regions().size());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "capture-snapshot: %s\n", e.what());
    return 1;
  }
}
