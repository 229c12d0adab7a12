// OffCpuReads: the sampler on the CPU of the thread it reads, and the check that the thread did not run meanwhile.
#include "pyfold/record/cpython/off_cpu.hpp"

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdlib>
#include <string>

namespace pyfold::record {

OffCpuReads::~OffCpuReads() {
  for (auto& [tid, fd] : schedstat_) close(fd);
  for (auto& [tid, fd] : clocks_) close(fd);
}

bool OffCpuReads::read_clock(pid_t tid, std::uint64_t& ns) {
  auto it = clocks_.find(tid);
  if (it == clocks_.end()) {
    if (clocks_.size() >= 256) {  // threads come and go: drop the counters, the ones in use open again
      for (auto& [t, fd] : clocks_) close(fd);
      clocks_.clear();
    }
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    // (counts all of the thread's run time anyway; excluding the kernel is what perf_event_paranoid 2 allows)
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      // The thread has gone (ESRCH), or the kernel does not let us count (EACCES, EPERM: perf_event_paranoid 3,
      // seccomp; ENOSYS, ENOENT: no perf events): /proc for every thread from now on.
      if (errno != ESRCH) check_ = Check::proc;
      return false;
    }
    it = clocks_.emplace(tid, fd).first;
  }
  std::uint64_t value = 0;
  if (::read(it->second, &value, sizeof value) != static_cast<ssize_t>(sizeof value)) {
    close(it->second);
    clocks_.erase(it);
    return false;
  }
  ns = value;
  return true;
}

bool OffCpuReads::read_runs(pid_t tid, std::uint64_t& runs) {
  auto it = schedstat_.find(tid);
  if (it == schedstat_.end()) {
    if (schedstat_.size() >= 256) {  // as the counters above
      for (auto& [t, fd] : schedstat_) close(fd);
      schedstat_.clear();
    }
    std::string path = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid) + "/schedstat";
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    it = schedstat_.emplace(tid, fd).first;
  }
  char text[128];
  ssize_t got = pread(it->second, text, sizeof text - 1, 0);
  if (got <= 0) {  // the thread has exited
    close(it->second);
    schedstat_.erase(it);
    return false;
  }
  text[got] = '\0';
  char* end = nullptr;
  std::strtoull(text, &end, 10);        // time run
  std::strtoull(end, &end, 10);         // time waited to run
  runs = std::strtoull(end, &end, 10);  // times scheduled in
  return *end == '\n' || *end == '\0';
}

void OffCpuReads::before(pid_t tid) {
  noted_ = tid;
  noted_ok_ = false;
  if (tid <= 0) return;
  char state;
  if (check_ == Check::task_clock) {
    // A clock that has not moved by the end of the read: the thread did not run in between, wherever it was.
    if (read_clock(tid, mark_before_)) {
      noted_ok_ = true;
      return;
    }
    if (check_ == Check::task_clock) return;  // (else refused just now: /proc below)
  }
  // The count first, then the place: a thread not running when its place is read, and not scheduled in by the
  // end of the read, was off its CPU throughout.
  if (!read_runs(tid, mark_before_) || !stat_.read(tid, state, cpu_before_)) return;
  // Runnable on another CPU may mean running there; on ours it is waiting for the sampler to finish.
  noted_ok_ = state != 'R' || cpu_before_ == sched_getcpu();
}

bool OffCpuReads::held_still(pid_t tid) {
  std::uint64_t mark;
  return noted_ok_ && tid == noted_ && read_mark(tid, mark) && mark == mark_before_;
}

bool OffCpuReads::follow(pid_t tid) {
  char state;
  int cpu;
  if (refused_ || tid <= 0 || !stat_.read(tid, state, cpu) || cpu < 0 || cpu == sched_getcpu()) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    refused_ = true;  // a CPU this process may not use (cpusets): every read then stops the program instead
    return false;
  }
  ++moves_;
  return true;
}

pid_t gil_holder(const StackWalker& walker, const std::vector<ThreadStack>& stacks) {
  std::uint64_t tstate = walker.gil_thread_state();
  for (const ThreadStack& s : stacks)
    if (tstate && s.tstate == tstate) return s.tid;
  return 0;
}

bool read_was_one_instant(OffCpuReads& off_cpu, StackWalker& walker, pid_t holder) {
  return holder == 0 ? walker.gil_thread_state() != 0 && walker.gil_unchanged()
                     : off_cpu.held_still(holder) && (walker.gil_locked() || walker.gil_unchanged());
}

}  // namespace pyfold::record
