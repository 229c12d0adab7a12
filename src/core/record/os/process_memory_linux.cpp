// ProcessMemory on Linux: process_vm_readv.
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "pyfold/record/os/process_memory.hpp"
#include "pyfold/record/os/ptrace_access.hpp"

namespace pyfold::record {

bool ProcessMemory::read(std::uint64_t address, void* out, std::size_t size) noexcept {
  ++reads_;
  if (address == 0) {
    last_error_ = EFAULT;
    return false;
  }
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  ssize_t got = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (got == static_cast<ssize_t>(size)) return true;
  last_error_ = got < 0 ? errno : EFAULT;
  return false;
}

std::size_t ProcessMemory::read_many(const MemoryRange* ranges, std::size_t count) noexcept {
  // One call copies up to IOV_MAX ranges; the kernel never splits a range, and stops at the first it cannot read.
  constexpr std::size_t kIovMax = 1024;
  iovec local[kIovMax], remote[kIovMax];
  std::size_t done = 0;
  while (done < count) {
    std::size_t n = std::min(count - done, kIovMax);
    std::size_t want = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const MemoryRange& r = ranges[done + i];
      local[i] = {r.out, r.size};
      remote[i] = {reinterpret_cast<void*>(r.address), r.size};
      want += r.size;
    }
    ++reads_;
    ssize_t got = process_vm_readv(pid_, local, n, remote, n, 0);
    if (got == static_cast<ssize_t>(want)) {
      done += n;
      continue;
    }
    last_error_ = got < 0 ? errno : EFAULT;
    std::size_t bytes = got < 0 ? 0 : static_cast<std::size_t>(got);
    for (std::size_t i = 0; i < n && bytes >= ranges[done].size; ++i) bytes -= ranges[done++].size;
    return done;
  }
  return done;
}

std::string permission_advice(pid_t pid) {
  return refusal_message(pid, diagnose_refusal(pid, read_ptrace_facts(pid)));
}

bool can_read_child_memory(std::string* why, std::string* fix) {
  static volatile std::uint64_t probe = 0x70796661756c74ULL;  // at the same address in a forked child
  pid_t child = fork();
  if (child < 0) return true;  // cannot tell: let the remote method report what goes wrong
  if (child == 0) {
    pause();
    _exit(0);
  }
  std::uint64_t value = 0;
  iovec local{&value, sizeof value};
  iovec remote{const_cast<std::uint64_t*>(&probe), sizeof probe};
  ssize_t got = process_vm_readv(child, &local, 1, &remote, 1, 0);
  if (got < 0 && (why || fix)) {
    const Refusal refusal = diagnose_refusal(child, read_ptrace_facts(child));
    if (why) *why = refusal.why;
    if (fix) *fix = refusal.fix;
  }
  kill(child, SIGKILL);
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return got == static_cast<ssize_t>(sizeof value) && value == probe;
}

}  // namespace pyfold::record
