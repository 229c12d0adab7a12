#pragma once
// Live reads that are one instant: read a program's stacks while the thread that can change them is off its CPU.
//
// Reading a thread's frames while it runs on another CPU mixes moments: the pointer to the innermost frame is read
// a microsecond before the frames, and a call-heavy thread makes several calls and returns in between, so time
// moves between neighbouring functions (measured on 3.11: 10-15 points of share). On a GIL build only the thread
// holding the GIL changes Python frames. So the sampler runs on that thread's CPU: when it wakes up there, the
// thread is off its CPU until the read ends, as if stopped, without a signal or ptrace. Whether that held is
// checked, not assumed, and no other thread may have taken the GIL meanwhile (StackWalker::gil_unchanged). A read
// for which this does not hold is made again with the program stopped, and the sampler moves to the thread's CPU
// for the next samples. The check, by the first of these the kernel allows:
// - task_clock: the thread's own clock (a perf software counter on it, read exact to the nanosecond even while
//   it runs elsewhere) is the same before and after the read: it did not run at all. Two reads of 1-2 us.
// - proc: its count of times scheduled in (/proc/.../schedstat) is the same before and after the read, and it was
//   not running elsewhere when the read began (its state and CPU in /proc/.../stat). Three reads of /proc.
#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "pyfold/record/os/proc_files.hpp"
#include "pyfold/record/cpython/stack_walker.hpp"

namespace pyfold::record {

class OffCpuReads {
 public:
  enum class Check { task_clock, proc };
  // check: the one to use when the kernel allows it (proc otherwise; tests ask for proc).
  explicit OffCpuReads(pid_t pid, Check check = Check::task_clock)
      : pid_(pid), stat_(pid), check_(check) {}
  ~OffCpuReads();
  OffCpuReads(const OffCpuReads&) = delete;
  OffCpuReads& operator=(const OffCpuReads&) = delete;

  // Before the read: notes where thread tid (the GIL's holder at the last sample) is and how often it has run.
  void before(pid_t tid);
  // After the read: true when thread tid (the GIL's holder the read saw, which must be the one before() noted) did
  // not run from before() until now.
  bool held_still(pid_t tid);
  // Moves the calling (sampling) thread onto the CPU thread tid last ran on, when that is not its own: for the
  // reads that follow. May wait for that CPU (a few milliseconds at most). False when that is refused.
  bool follow(pid_t tid);

  std::uint64_t moves() const { return moves_; }
  Check check() const { return check_; }  // the check in use: task_clock until the kernel refuses one

 private:
  bool read_runs(pid_t tid, std::uint64_t& runs);  // field 3 of /proc/PID/task/TID/schedstat
  // The thread's run time in ns (its perf task-clock counter, opened on first use); false when unreadable, and
  // check_ becomes proc when the kernel refuses the counter.
  bool read_clock(pid_t tid, std::uint64_t& ns);
  bool read_mark(pid_t tid, std::uint64_t& mark) {
    return check_ == Check::task_clock ? read_clock(tid, mark) : read_runs(tid, mark);
  }

  pid_t pid_;
  ThreadStatReader stat_;                     // where a thread is: its state and CPU
  std::unordered_map<pid_t, int> schedstat_;  // kept descriptors, by thread
  std::unordered_map<pid_t, int> clocks_;     // task-clock counters, by thread
  pid_t noted_ = 0;
  bool noted_ok_ = false;
  Check check_;
  std::uint64_t mark_before_ = 0;  // the clock, or the count of times scheduled in
  int cpu_before_ = -1;
  std::uint64_t moves_ = 0;
  bool refused_ = false;
};

// The thread among the stacks just read whose state the walker saw holding the GIL (or holding it last); 0 when it
// is not among them.
pid_t gil_holder(const StackWalker& walker, const std::vector<ThreadStack>& stacks);

// Whether the read just made (after off_cpu.before) is one instant of every thread: the GIL's holder stayed off its
// CPU and nobody else took the GIL (no one can while it is held; a GIL that was free is read again).
bool read_was_one_instant(OffCpuReads& off_cpu, StackWalker& walker, pid_t holder);

}  // namespace pyfold::record
