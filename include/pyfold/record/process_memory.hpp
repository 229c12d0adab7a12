#pragma once
// Reading another process's memory: one small interface over the OS (Linux: process_vm_readv).
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace pyfold::record {

// The memory of one process, read without stopping it. A failed or short read returns false and keeps errno in
// last_error(): ESRCH = the process is gone, EPERM = no ptrace rights, EFAULT = a bad address (a torn read).
class ProcessMemory {
 public:
  explicit ProcessMemory(pid_t pid = 0) : pid_(pid) {}
  pid_t pid() const { return pid_; }

  bool read(std::uint64_t address, void* out, std::size_t size) noexcept;
  template <class T>
  bool read_value(std::uint64_t address, T& value) noexcept {
    return read(address, &value, sizeof value);
  }
  int last_error() const { return last_error_; }
  std::uint64_t read_count() const { return reads_; }

 private:
  pid_t pid_;
  int last_error_ = 0;
  std::uint64_t reads_ = 0;
};

// The message for a refused read (EPERM/EACCES), naming the ways to get ptrace rights.
std::string permission_advice(pid_t pid);

}  // namespace pyfold::record
