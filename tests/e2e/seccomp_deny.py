#!/usr/bin/env python3
"""Runs COMMAND under a seccomp filter that refuses process_vm_readv and ptrace with EPERM, as Docker's default
profile does for a container without CAP_SYS_PTRACE (the filter is inherited by every process COMMAND starts).
x86-64 only (the syscall numbers); elsewhere it exits 77.

Usage: seccomp_deny.py COMMAND [ARG ...]"""
import ctypes
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_PTRACE, NR_PROCESS_VM_READV = 101, 310
LD_ABS_W, JEQ_K, RET_K = 0x20, 0x15, 0x06
RET_ALLOW, RET_EPERM = 0x7FFF0000, 0x00050000 | 1


def instruction(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


def main():
    if platform.machine() != "x86_64" or len(sys.argv) < 2:
        print("seccomp_deny.py: x86-64 only, and a command to run", file=sys.stderr)
        sys.exit(77)
    program = b"".join([
        instruction(LD_ABS_W, 0, 0, 4),                    # 0: the architecture
        instruction(JEQ_K, 0, 3, AUDIT_ARCH_X86_64),       # 1: another one: allow (5)
        instruction(LD_ABS_W, 0, 0, 0),                    # 2: the syscall number
        instruction(JEQ_K, 2, 0, NR_PROCESS_VM_READV),     # 3: refuse (6)
        instruction(JEQ_K, 1, 0, NR_PTRACE),               # 4: refuse (6)
        instruction(RET_K, 0, 0, RET_ALLOW),               # 5
        instruction(RET_K, 0, 0, RET_EPERM),               # 6
    ])
    filters = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HxxxxxxQ", len(program) // 8, ctypes.addressof(filters))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4  # (a pointer is not an int)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog_buffer), 0, 0) != 0:
        print(f"seccomp_deny.py: cannot install the filter: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        sys.exit(77)
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
