#pragma once
// A running CPython process seen from outside: where its runtime is and which version and layout it has (attach),
// then the Python stacks of its threads (StackWalker) and their names (ThreadNames), read without stopping it.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pyfold/record/os/proc_files.hpp"
#include "pyfold/record/os/process_memory.hpp"
#include "pyfold/record/cpython/python_objects.hpp"
#include "pyfold/record/cpython/stack_walker.hpp"
#include "pyfold/record/cpython/thread_names.hpp"

namespace pyfold::record {

// The target cannot be sampled: gone, not Python, unsupported, or not readable. The message says which.
class AttachError : public std::runtime_error {
 public:
  enum class Kind { no_process, permission, not_python, unsupported, not_ready, other };  // not_ready: try again
  AttachError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  // The message made by describe on the first what(), then kept (brief: if making it fails): for a message that
  // costs reads of /proc, which the callers that poll a process and throw their errors away never pay.
  AttachError(Kind kind, const std::string& brief, std::function<std::string()> describe);
  // pid refused the read of its memory (Kind::permission); the message says why and what to do (permission_advice),
  // from /proc as it is when asked: ask before the process is ended (wait_for_python does, for a launched program).
  static AttachError refused(pid_t pid);
  Kind kind() const { return kind_; }
  const char* what() const noexcept override;

 private:
  struct Deferred {
    std::function<std::string()> describe;
    std::once_flag made;
    std::string message;
  };
  Kind kind_;
  std::shared_ptr<Deferred> deferred_;  // shared: a copy of the error has the same message, made once
};

class PythonProcess {
 public:
  // Finds CPython's runtime in the process's mapped files. Throws AttachError.
  static std::unique_ptr<PythonProcess> attach(pid_t pid);

  using Read = StackWalker::Read;
  // The stacks of every thread (see StackWalker::read_stacks).
  Read read_stacks(std::vector<ThreadStack>& stacks) { return walker_.read_stacks(stacks); }
  // One thread's stack read again while the caller keeps its thread stopped (see StackWalker::read_stopped_thread).
  const char* read_stopped_thread(ThreadStack& stack) { return walker_.read_stopped_thread(stack); }
  // True once the interpreter has been created (before Py_Initialize, there is nothing to sample).
  bool initialized() { return walker_.initialized(); }

  pid_t pid() const { return memory_.pid(); }
  StackWalker& walker() { return walker_; }
  MemoryReader& memory() { return memory_; }
  const std::string& version() const { return version_; }  // "3.11"
  const std::string& runtime_file() const { return runtime_file_; }
  const PythonRuntime& runtime() const { return runtime_; }
  std::uint64_t reads() const { return memory_.read_count(); }
  std::uint64_t retries() const { return walker_.retries(); }
  std::uint64_t retries_with_thread_stopped() const { return walker_.retries_with_thread_stopped(); }
  void stop_thread_as_last_resort(bool on) { walker_.stop_thread_as_last_resort(on); }
  const std::string& last_torn_reason() const { return walker_.last_torn_reason(); }
  // threading's names of the threads: update() after read_stacks, then name() of each (see ThreadNames).
  ThreadNames& thread_names() { return names_; }

 private:
  PythonProcess(pid_t pid, const PythonRuntime& runtime)
      : memory_(pid), runtime_(runtime), walker_(memory_, runtime_, pid), names_(memory_, runtime_) {}
  ProcessMemory memory_;
  const PythonRuntime runtime_;
  StackWalker walker_;
  ThreadNames names_;
  std::string version_, runtime_file_;
};

// The minor version from the sys.version text in a block of memory ("3.10.13 (main, ...", at the start of a
// NUL-delimited string), 0 when absent.
int minor_from_version_text(std::string_view memory);

}  // namespace pyfold::record
