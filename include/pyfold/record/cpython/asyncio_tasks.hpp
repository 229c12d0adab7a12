#pragma once
// pyfold record --async, from outside (CPython 3.14+): the asyncio tasks of each thread and their await chains, read
// through the _asyncio module's _Py_AsyncioModuleDebugOffsets (an ELF section of its own, .AsyncioDebug: in the
// _asyncio extension module in 3.14, in the interpreter in 3.15). A task's stack is its coroutine chain (each
// coroutine's frame, then what it awaits, read from its frame's stack), or for the running task the thread's own
// frames down to the task's coroutine, rooted under `<task> NAME` and the chains of the tasks that await it
// (task_awaited_by: gather, TaskGroup, awaiting a task).
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pyfold/record/os/process_memory.hpp"
#include "pyfold/record/cpython/python_objects.hpp"
#include "pyfold/record/cpython/stack_walker.hpp"

namespace pyfold::record {

// running: per thread, the task that runs (and the tasks awaiting it); a thread whose loop runs no task keeps its
// own stack. all: every task that awaits no other task, running or waiting, under the tasks awaiting it.
enum class AsyncMode { running, all };

// _Py_AsyncioModuleDebugOffsets (13 uint64_t, the same in 3.14 and 3.15): byte offsets in a TaskObj, the
// interpreter state and the thread state (_PyThreadStateImpl).
struct AsyncioOffsets {
  std::uint64_t task_size, task_name, task_awaited_by, task_is_task, task_awaited_by_is_set, task_coro, task_node;
  std::uint64_t interp_size, interp_tasks_head;
  std::uint64_t tstate_size, running_loop, running_task, tstate_tasks_head;
};
constexpr std::size_t kAsyncioOffsetsSize = 13 * 8;
// Parses the section's bytes; throws std::runtime_error when an offset lies outside its struct.
AsyncioOffsets asyncio_offsets_from(const unsigned char* bytes, std::size_t size);

// One thread's stacks as --async draws them.
struct ThreadTasks {
  bool asyncio = false;       // an event loop runs on the thread (else: its own stack)
  bool task_running = false;  // a task runs on it now
  std::vector<std::vector<FrameRef>> stacks;  // innermost first, each ending with its root task's `<task> NAME`
};

class AsyncioTasks {
 public:
  AsyncioTasks(MemoryReader& memory, const PythonRuntime& runtime, StackWalker& walker, pid_t pid);
  // Whether this interpreter publishes the offsets (3.14+).
  static bool supported(const PythonRuntime& runtime);
  // Looks for the .AsyncioDebug section in the process's mapped files (it appears when the program imports
  // asyncio), at each call while not found (each file opened once); once found, asks the walker to copy each
  // thread's running loop and task with its frames. True when found.
  bool find_offsets();
  // The tasks of every thread of stacks (read by the walker, with the words find_offsets asked for) into out
  // (one entry a thread). The reason when the tasks could not be read consistently.
  const char* read(const std::vector<ThreadStack>& stacks, AsyncMode mode, std::vector<ThreadTasks>& out);
  std::uint64_t tasks_seen() const { return tasks_seen_; }  // tasks read in the last call

 private:
  struct Task {
    std::uint64_t coro = 0, name = 0, awaited_by = 0, next_node = 0;
    bool awaited_by_is_set = false, is_task = false, parents_read = false;
    std::vector<std::uint64_t> parents;
    std::vector<FrameRef> chain;  // innermost first (waiting tasks)
    bool chain_read = false;
  };
  const char* read_tasks(const std::vector<std::uint64_t>& addresses);
  const char* list_thread_tasks(std::uint64_t tstate, std::vector<std::uint64_t>& tasks);
  const char* read_parents(Task& task);
  const char* read_chains(const std::vector<std::uint64_t>& tasks);
  const char* build(std::uint64_t task, const ThreadStack* running_on, std::vector<FrameRef>& out);
  FrameRef task_frame(std::uint64_t task, std::size_t parents);
  struct Named {  // a task's name, read once for each name object, and its marker frame
    std::uint64_t object = 0;
    std::string text;
    CodeInfo* marker = nullptr;
    std::size_t marker_parents = 0;
  };
  Named& task_name(std::uint64_t task);

  MemoryReader& memory_;
  const PythonRuntime& rt_;
  StackWalker& walker_;
  PythonObjects objects_;
  pid_t pid_;
  AsyncioOffsets offsets_{};
  bool found_ = false;
  std::uint64_t calls_ = 0, tasks_seen_ = 0;
  std::unordered_set<std::string> searched_;  // mapped files looked at (path@start)
  std::unordered_map<std::uint64_t, Task> tasks_;  // this call's, by address
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> order_;  // by thread state: last call's task list
  std::unordered_map<std::uint64_t, Named> names_;  // by task
  std::unordered_map<std::string, std::unique_ptr<CodeInfo>> markers_;  // `<task> NAME` frames
  std::vector<unsigned char> buffer_;
  std::vector<MemoryRange> ranges_;
  std::vector<StackWalker::RawFrame> raw_;
  std::vector<std::uint64_t> visited_;
};

}  // namespace pyfold::record
