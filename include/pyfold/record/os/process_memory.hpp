#pragma once
// Reading another process's memory: one small interface over the OS (Linux: process_vm_readv), so that the stack
// walker runs the same on a live process and on a captured snapshot (unit tests).
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pyfold::record {

// One range to copy: size bytes at address (in the target) into out (here).
struct MemoryRange {
  std::uint64_t address;
  void* out;
  std::size_t size;
};

// A source of another process's memory. A failed or short read returns false and keeps errno in last_error():
// ESRCH = the process is gone, EPERM = no ptrace rights, EFAULT = a bad address (during live reads: a torn read).
class MemoryReader {
 public:
  virtual ~MemoryReader() = default;
  virtual bool read(std::uint64_t address, void* out, std::size_t size) noexcept = 0;
  // Copies several ranges in one go, as close together in time as the source allows (live: one system call), and
  // returns how many of them, from the first, were copied whole. The default reads them one by one.
  virtual std::size_t read_many(const MemoryRange* ranges, std::size_t count) noexcept;
  template <class T>
  bool read_value(std::uint64_t address, T& value) noexcept {
    return read(address, &value, sizeof value);
  }
  int last_error() const { return last_error_; }
  std::uint64_t read_count() const { return reads_; }  // calls that reached the source (read_many counts once)

 protected:
  int last_error_ = 0;
  std::uint64_t reads_ = 0;
};

// The memory of a live process, read without stopping it (process_vm_readv).
class ProcessMemory : public MemoryReader {
 public:
  explicit ProcessMemory(pid_t pid = 0) : pid_(pid) {}
  pid_t pid() const { return pid_; }
  bool read(std::uint64_t address, void* out, std::size_t size) noexcept override;
  std::size_t read_many(const MemoryRange* ranges, std::size_t count) noexcept override;

 private:
  pid_t pid_;
};

// Memory captured earlier: a set of byte regions. Reads inside a region succeed, others fail with EFAULT.
class SnapshotMemory : public MemoryReader {
 public:
  void add(std::uint64_t address, const void* bytes, std::size_t size);  // merges with overlapping regions
  bool read(std::uint64_t address, void* out, std::size_t size) noexcept override;
  const std::map<std::uint64_t, std::string>& regions() const { return regions_; }
  std::size_t bytes() const;

 private:
  std::map<std::uint64_t, std::string> regions_;  // start -> bytes, disjoint
};

// Passes reads through to another reader and keeps a copy of every byte read, for capturing snapshots.
class RecordingMemory : public MemoryReader {
 public:
  explicit RecordingMemory(MemoryReader& source) : source_(source) {}
  bool read(std::uint64_t address, void* out, std::size_t size) noexcept override;
  std::size_t read_many(const MemoryRange* ranges, std::size_t count) noexcept override;
  const SnapshotMemory& captured() const { return captured_; }

 private:
  MemoryReader& source_;
  SnapshotMemory captured_;
};

// The message for a refused read (EPERM/EACCES): why, from /proc, and what to do (ptrace_access.hpp).
std::string permission_advice(pid_t pid);

// Whether this process may read a child's memory: tried on a throwaway forked child (process_vm_readv). why and
// fix: when it may not, the reason and what to do (ptrace_access.hpp's diagnosis of that child).
bool can_read_child_memory(std::string* why = nullptr, std::string* fix = nullptr);

}  // namespace pyfold::record
