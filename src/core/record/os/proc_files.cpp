// Thread states and names from /proc.
#include "pyfold/record/os/proc_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace pyfold::record {

ThreadStatReader::~ThreadStatReader() {
  for (auto& [tid, fd] : fds_) ::close(fd);
}

char ThreadStatReader::state(pid_t tid) {
  char state;
  int cpu;
  return read(tid, state, cpu) ? state : '?';
}

bool ThreadStatReader::read(pid_t tid, char& state, int& cpu) {
  auto it = fds_.find(tid);
  if (it == fds_.end()) {
    // A thread that has exited is never asked for again: its descriptor would stay open. Bounded, so that a
    // program whose threads come and go never runs the sampler (or, in process, the program) out of descriptors.
    if (fds_.size() >= kMaxKept) forget_missing();
    if (fds_.size() >= kMaxKept) forget_all();
    std::string path = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid) + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    it = fds_.emplace(tid, fd).first;
  }
  char buf[1024];
  ssize_t n = pread(it->second, buf, sizeof buf - 1, 0);
  if (n <= 0) {
    ::close(it->second);
    fds_.erase(it);
    return false;
  }
  buf[n] = 0;
  const char* paren = std::strrchr(buf, ')');  // comm may hold spaces and parentheses
  if (!paren || paren[1] != ' ' || !paren[2]) return false;
  state = paren[2];
  const char* field = paren + 2;  // field 3; on to field 39 (processor)
  for (int k = 3; k < 39; ++k) {
    field = std::strchr(field, ' ');
    if (!field) return false;
    ++field;
  }
  cpu = std::atoi(field);
  return true;
}

void ThreadStatReader::forget_all() {
  for (auto& [tid, fd] : fds_) ::close(fd);
  fds_.clear();
}

void ThreadStatReader::forget_missing() {
  for (auto it = fds_.begin(); it != fds_.end();) {
    char c;
    if (pread(it->second, &c, 1, 0) <= 0) {
      ::close(it->second);
      it = fds_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string thread_name(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace pyfold::record
