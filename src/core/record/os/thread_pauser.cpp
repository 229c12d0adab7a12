#include "pyfold/record/os/thread_pauser.hpp"

#include <dirent.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
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

namespace {

std::mutex reaped_mutex;
std::map<pid_t, int> reaped_statuses;  // processes a pauser reaped, until their owner asks

}  // namespace

bool take_reaped_status(pid_t pid, int& status) {
  std::lock_guard<std::mutex> lock(reaped_mutex);
  auto it = reaped_statuses.find(pid);
  if (it == reaped_statuses.end()) return false;
  status = it->second;
  reaped_statuses.erase(it);
  return true;
}

bool ThreadPauser::stop(std::vector<pid_t> tids) {
  listed_ = std::move(tids);
  // Interrupt every thread first, then wait for each: the pauses overlap instead of adding up.
  std::vector<pid_t> interrupted;
  bool leader = false;
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
    if (tid == pid_) leader = true;
    else interrupted.push_back(tid);
  }
  for (pid_t tid : interrupted) {
    int status = 0;
    pid_t got;
    do {
      got = waitpid(tid, &status, __WALL);
    } while (got < 0 && errno == EINTR);
    if (got == tid) took(tid, status);
  }
  // The group leader last, and never by a wait that blocks: when the program ends meanwhile (exit_group), the
  // leader's exit is reported only once every other thread of it is reaped, and a thread this pauser stopped and
  // the exit killed is reaped by this pauser alone. A blocking wait on the leader would wait for itself.
  while (leader) {
    int status = 0;
    const pid_t got = waitpid(pid_, &status, __WALL | WNOHANG);
    if (got == pid_) {
      took(pid_, status);
      break;
    }
    if (got < 0 && errno != EINTR) break;  // gone
    reap_killed();
    const timespec pause{0, 20000};
    nanosleep(&pause, nullptr);
  }
  return !stopped_.empty();
}

// A waited-for thread: stopped (kept, with any signal to deliver again), or gone (the leader's status kept for the
// program's owner, who can no longer wait for it).
void ThreadPauser::took(pid_t tid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    if (tid == pid_) {
      std::lock_guard<std::mutex> lock(reaped_mutex);
      reaped_statuses[pid_] = status;
    }
    return;
  }
  int signal = 0;
  // A signal-delivery stop (not our interrupt, not a group stop) keeps its signal for the detach.
  if (WIFSTOPPED(status) && (status >> 16) != PTRACE_EVENT_STOP && WSTOPSIG(status) != SIGTRAP)
    signal = WSTOPSIG(status);
  stopped_.push_back({tid, signal});
}

// Stopped threads that SIGKILL (the program's exit) took out of their stop: reaped, and no longer stopped.
void ThreadPauser::reap_killed() {
  stopped_.erase(std::remove_if(stopped_.begin(), stopped_.end(),
                                [&](const Stopped& s) {
                                  int status = 0;
                                  return s.tid != pid_ && waitpid(s.tid, &status, __WALL | WNOHANG) == s.tid;
                                }),
                 stopped_.end());
}

void ThreadPauser::resume() {
  for (const Stopped& s : stopped_) {
    if (ptrace(PTRACE_DETACH, s.tid, nullptr, reinterpret_cast<void*>(static_cast<long>(s.signal))) == 0) continue;
    // Not in its stop any more: SIGKILL (the program's exit) woke it. A thread other than the leader is then reaped
    // here, or the leader's exit would wait for it forever (see stop). The leader is left to its owner.
    if (errno != ESRCH || s.tid == pid_) continue;
    int status = 0;
    while (waitpid(s.tid, &status, __WALL) < 0 && errno == EINTR) {
    }
  }
  stopped_.clear();
}

}  // namespace pyfold::record
