#pragma once
// --blocking: stop every thread of a process while its stacks are read (PTRACE_SEIZE + PTRACE_INTERRUPT), and
// always let them go again (PTRACE_DETACH, re-delivering any signal caught meanwhile).
#include <sys/types.h>

#include <vector>

namespace pyfold::record {

class ThreadPauser {
 public:
  explicit ThreadPauser(pid_t pid) : pid_(pid) {}
  ~ThreadPauser() { resume(); }
  ThreadPauser(const ThreadPauser&) = delete;
  ThreadPauser& operator=(const ThreadPauser&) = delete;

  // Stops the threads listed in /proc/PID/task. Returns false when none could be stopped (EPERM, gone).
  // If waiting reaped the process itself (it exited meanwhile), take_reaped_status (below) has its status.
  bool pause();
  // Stops one thread of the process only (the stack walker's last resort for one thread's consistent read).
  bool pause_thread(pid_t tid);
  void resume();  // detaches every thread stopped by pause()
  const std::vector<pid_t>& tids() const { return listed_; }
  int last_error() const { return last_error_; }

 private:
  bool stop(std::vector<pid_t> tids);
  void took(pid_t tid, int status);
  void reap_killed();
  struct Stopped {
    pid_t tid;
    int signal;  // a signal that arrived while stopped, to deliver on detach
  };
  pid_t pid_;
  std::vector<Stopped> stopped_;
  std::vector<pid_t> listed_;
  int last_error_ = 0;
};

// The exit status of a process whose group leader a ThreadPauser reaped (it ended while being stopped), once: for
// the process's parent, whose own wait then finds no child.
bool take_reaped_status(pid_t pid, int& status);

// Thread ids listed in /proc/PID/task.
std::vector<pid_t> task_ids(pid_t pid);

}  // namespace pyfold::record
