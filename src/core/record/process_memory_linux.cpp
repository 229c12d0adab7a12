// ProcessMemory on Linux: process_vm_readv, one iovec each side.
#include <sys/uio.h>

#include <cerrno>

#include "pyfold/record/process_memory.hpp"

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

std::string permission_advice(pid_t pid) {
  return "cannot read the memory of PID " + std::to_string(pid) +
         " (permission refused). Reading another process needs ptrace rights: let pyfold start the program "
         "(`pyfold record -- python3 app.py`), or run as root or grant the capability "
         "(`sudo setcap cap_sys_ptrace+ep $(which pyfold-record)`), or set kernel.yama.ptrace_scope to 0 "
         "(/proc/sys/kernel/yama/ptrace_scope); in a container add `--cap-add SYS_PTRACE`. Setuid or non-dumpable "
         "targets always need CAP_SYS_PTRACE.";
}

}  // namespace pyfold::record
