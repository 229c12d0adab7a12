// OffCpuReads: the sampler on the CPU of the thread it reads, and the check that the thread did not run meanwhile.
#include "pyfold/record/off_cpu.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace pyfold::record {

namespace {

// The text of a kept /proc file, read again from its start; "" when it cannot be read (the thread has exited).
int read_text(int fd, char* buffer, std::size_t size) {
  ssize_t got = pread(fd, buffer, size - 1, 0);
  if (got <= 0) return 0;
  buffer[got] = '\0';
  return static_cast<int>(got);
}

}  // namespace

OffCpuReads::~OffCpuReads() {
  for (auto& [tid, f] : files_) {
    if (f.stat >= 0) close(f.stat);
    if (f.schedstat >= 0) close(f.schedstat);
  }
}

OffCpuReads::Files* OffCpuReads::files(pid_t tid) {
  auto it = files_.find(tid);
  if (it != files_.end()) return &it->second;
  if (files_.size() > 4096) {  // threads come and go: start afresh rather than keep the descriptors of dead ones
    for (auto& [t, f] : files_) close(f.stat), close(f.schedstat);
    files_.clear();
  }
  std::string dir = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid) + "/";
  Files f;
  f.stat = open((dir + "stat").c_str(), O_RDONLY | O_CLOEXEC);
  f.schedstat = open((dir + "schedstat").c_str(), O_RDONLY | O_CLOEXEC);
  if (f.stat < 0 || f.schedstat < 0) {
    if (f.stat >= 0) close(f.stat);
    if (f.schedstat >= 0) close(f.schedstat);
    return nullptr;
  }
  return &files_.emplace(tid, f).first->second;
}

bool OffCpuReads::read_place(pid_t tid, char& state, int& cpu) {
  Files* f = files(tid);
  char text[1024];
  if (!f || !read_text(f->stat, text, sizeof text)) return false;
  const char* p = std::strrchr(text, ')');  // the name may hold spaces and parentheses
  if (!p || p[1] != ' ') return false;
  state = p[2];
  const char* field = p + 2;  // field 3; on to field 39 (processor)
  for (int n = 3; n < 39; ++n) {
    field = std::strchr(field, ' ');
    if (!field) return false;
    ++field;
  }
  cpu = std::atoi(field);
  return true;
}

bool OffCpuReads::read_runs(pid_t tid, std::uint64_t& runs) {
  Files* f = files(tid);
  char text[128];
  if (!f || !read_text(f->schedstat, text, sizeof text)) return false;
  char* end = nullptr;
  std::strtoull(text, &end, 10);         // time run
  std::strtoull(end, &end, 10);          // time waited to run
  runs = std::strtoull(end, &end, 10);   // times scheduled in
  return end && (*end == '\n' || *end == '\0');
}

void OffCpuReads::before(pid_t tid) {
  noted_ = tid;
  noted_ok_ = false;
  if (tid <= 0) return;
  char state;
  // The count first, then the place: a thread not running when its place is read, and not scheduled in by the
  // end of the read, was off its CPU throughout.
  if (!read_runs(tid, runs_before_) || !read_place(tid, state, cpu_before_)) return;
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
  if (refused_ || tid <= 0 || !read_place(tid, state, cpu) || cpu < 0 || cpu == sched_getcpu()) return false;
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
