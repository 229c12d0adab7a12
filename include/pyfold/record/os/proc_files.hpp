#pragma once
// What /proc says about a process's threads: their state letters (through kept descriptors) and names.
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <unordered_map>

namespace pyfold::record {

// The state letter of a thread (field 3 of /proc/PID/task/TID/stat) and its CPU, read through a kept descriptor.
class ThreadStatReader {
 public:
  explicit ThreadStatReader(pid_t pid) : pid_(pid) {}
  ~ThreadStatReader();
  ThreadStatReader(const ThreadStatReader&) = delete;
  ThreadStatReader& operator=(const ThreadStatReader&) = delete;
  char state(pid_t tid);  // 'R', 'S', 'D', ... or '?' when unreadable
  bool read(pid_t tid, char& state, int& cpu);  // the state and field 39, the CPU it is on or last ran on
  void forget_missing();  // close descriptors of threads that have exited
  void forget_all();
  static constexpr std::size_t kMaxKept = 256;  // descriptors kept open at most

 private:
  pid_t pid_;
  std::unordered_map<pid_t, int> fds_;
};

// /proc/PID/task/TID/comm without its newline ("" when unreadable).
std::string thread_name(pid_t pid, pid_t tid);

}  // namespace pyfold::record
