// OffCpuReads: the sampler on the CPU of the thread it reads, and the check that the thread did not run meanwhile.
#include "pyfold/record/off_cpu.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace pyfold::record {

OffCpuReads::~OffCpuReads() {
  for (auto& [tid, fd] : schedstat_) close(fd);
}

bool OffCpuReads::read_runs(pid_t tid, std::uint64_t& runs) {
  auto it = schedstat_.find(tid);
  if (it == schedstat_.end()) {
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
  // The count first, then the place: a thread not running when its place is read, and not scheduled in by the
  // end of the read, was off its CPU throughout.
  if (!read_runs(tid, runs_before_) || !stat_.read(tid, state, cpu_before_)) return;
  // Runnable on another CPU may mean running there; on ours it is waiting for the sampler to finish.
  noted_ok_ = state != 'R' || cpu_before_ == sched_getcpu();
}

bool OffCpuReads::held_still(pid_t tid) {
  std::uint64_t runs;
  return noted_ok_ && tid == noted_ && read_runs(tid, runs) && runs == runs_before_;
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

}  // namespace pyfold::record
