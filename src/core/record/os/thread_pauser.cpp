#include "pyfold/record/os/thread_pauser.hpp"

#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace pyfold::record {

std::vector<pid_t> task_ids(pid_t pid) {
  std::vector<pid_t> tids;
  std::string path = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* e = readdir(dir))
      if (e->d_name[0] != '.') tids.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
    closedir(dir);
  }
  return tids;
}

bool ThreadPauser::pause() { return stop(task_ids(pid_)); }

bool ThreadPauser::pause_thread(pid_t tid) { return stop({tid}); }

bool ThreadPauser::stop(std::vector<pid_t> tids) {
  listed_ = std::move(tids);
  // Interrupt every thread first, then wait for each: the pauses overlap instead of adding up.
  std::vector<pid_t> interrupted;
  for (pid_t tid : listed_) {
    if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
      last_error_ = errno;
      continue;
    }
    if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
      last_error_ = errno;
      ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
      continue;
    }
    interrupted.push_back(tid);
  }
  for (pid_t tid : interrupted) {
    int status = 0;
    pid_t got;
    do {
      got = waitpid(tid, &status, __WALL);
    } while (got < 0 && errno == EINTR);
    if (got != tid) continue;  // the thread went away
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid == pid_) reaped_ = true, reaped_status_ = status;
      continue;
    }
    int signal = 0;
    // A signal-delivery stop (not our interrupt, not a group stop) keeps its signal for the detach.
    if (WIFSTOPPED(status) && (status >> 16) != PTRACE_EVENT_STOP && WSTOPSIG(status) != SIGTRAP)
      signal = WSTOPSIG(status);
    stopped_.push_back({tid, signal});
  }
  return !stopped_.empty();
}

void ThreadPauser::resume() {
  for (const Stopped& s : stopped_)
    ptrace(PTRACE_DETACH, s.tid, nullptr, reinterpret_cast<void*>(static_cast<long>(s.signal)));
  stopped_.clear();
}

}  // namespace pyfold::record
