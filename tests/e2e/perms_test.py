#!/usr/bin/env python3
"""End-to-end tests of permission refusals (issue 23 part 3): each cause that can be made on a test machine, made
with setpriv, and the message pyfold prints for it (exit status non-zero, the cause and the fix named), by record,
dump and top:
- another user: pyfold as nobody (setpriv --reuid=65534 --regid=65534 --clear-groups) against a root Python;
- the target's capabilities: root with CAP_SYS_PTRACE dropped (--inh-caps=-sys_ptrace --bounding-set=-sys_ptrace)
  against a root Python with every capability;
- a non-dumpable target: a Python run as nobody that calls prctl(PR_SET_DUMPABLE, 0) (ctypes), read by nobody;
- kernel.yama.ptrace_scope 1 and 2, only where /proc/sys/kernel/yama exists and may be written (set, always
  restored; otherwise a skip line naming why);
- a seccomp filter that refuses process_vm_readv and ptrace (seccomp_deny.py, as Docker's default profile does
  without CAP_SYS_PTRACE): record, dump and top say so; `record prog.py` falls back to sampling from inside by
  itself; `record -- python3 prog.py` is refused before the program starts;
and, as nobody, `pyfold record -d 1 -- python3 prog.py` still works (pyfold reads its own child, or samples from
inside when it may not). Needs root (a skip otherwise).

Usage: perms_test.py PYFOLD_RECORD PYFOLD_DUMP PYFOLD_TOP"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import check, finish, parse_folded

RECORD, DUMP, TOP = (os.path.abspath(a) for a in sys.argv[1:4])
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
NO_PTRACE = ["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace"]
# Docker's default seccomp profile without CAP_SYS_PTRACE: process_vm_readv and ptrace refused (EPERM)
SECCOMP = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "seccomp_deny.py")]
# Every user can run it (pyenv's and the fetched interpreters are under /root); Debian's python3.
PYTHON = shutil.which("python3", path="/usr/bin:/usr/local/bin:/bin") or "/usr/bin/python3"
TMP = tempfile.mkdtemp(prefix="pyfold-perms-e2e-")
os.chmod(TMP, 0o777)
SLEEPER = os.path.join(TMP, "sleeper.py")
with open(SLEEPER, "w") as f:
    f.write("import ctypes, sys, time\n"
            "if 'nondumpable' in sys.argv:\n"
            "    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE\n"
            "print('READY', flush=True)\n"
            "def wait():\n"
            "    while True:\n"
            "        time.sleep(0.05)\n"
            "wait()\n")
SPIN = os.path.join(TMP, "spin.py")
with open(SPIN, "w") as f:
    f.write("import time\nend = time.time() + 30\n\ndef spin():\n    while time.time() < end:\n        pass\n\nspin()\n")
os.chmod(SLEEPER, 0o644)
os.chmod(SPIN, 0o644)


@contextlib.contextmanager
def target(prefix=(), *args):
    """A sleeping Python run under prefix (a setpriv command line), for the length of a with block."""
    p = subprocess.Popen(list(prefix) + [PYTHON, SLEEPER] + list(args), stdout=subprocess.PIPE, cwd=TMP)
    try:
        assert p.stdout.readline().strip() == b"READY"
        yield p
    finally:
        p.kill()
        p.wait()


def refused(prefix, pid):
    """(exit status, message) of record, dump and top --once against pid, run under prefix."""
    results = {}
    for name, argv in (("record", [RECORD, "--pid", str(pid), "-d", "0.3", "-o", os.path.join(TMP, "out.folded")]),
                       ("dump", [DUMP, "--pid", str(pid)]),
                       ("top", [TOP, "--pid", str(pid), "--once"])):
        r = subprocess.run(list(prefix) + argv, capture_output=True, text=True, timeout=60, cwd=TMP,
                           stdin=subprocess.DEVNULL)
        results[name] = (r.returncode, r.stderr)
    return results


def record_launched(prefix, name, *args):
    """(the run, its folded stacks) of `pyfold record -d ... ARGS` run under prefix (a program pyfold starts)."""
    out = os.path.join(TMP, name + ".folded")
    r = subprocess.run(list(prefix) + [RECORD, "-o", out] + list(args), capture_output=True, text=True, timeout=60,
                       cwd=TMP, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        return r, parse_folded(f.read())


def expect(results, *needles):
    for name, (code, err) in results.items():
        assert code != 0, (name, code, err)
        assert "permission refused" in err, (name, err)
        for needle in needles:
            assert needle in err, (name, needle, err)


def main():
    if os.geteuid() != 0:
        finish("not root: the causes are made with setpriv, which needs root")
    if not shutil.which("setpriv"):
        finish("no setpriv (util-linux)")

    @check("another user: pyfold as nobody against root's Python names both users and the fix")
    def _():
        with target() as p:
            expect(refused(NOBODY, p.pid), f"PID {p.pid} runs as user root (uid 0) and pyfold as nobody (uid 65534)",
                   "sudo -u root pyfold", "--method inprocess")

    @check("the target's capabilities: root without CAP_SYS_PTRACE against root's Python with every capability")
    def _():
        with target() as p:
            expect(refused(NO_PTRACE, p.pid), f"PID {p.pid} holds capabilities that pyfold lacks", "CAP_SYS_PTRACE",
                   "nothing dropped")

    @check("a non-dumpable target (prctl(PR_SET_DUMPABLE, 0)) read by its own user: not dumpable, needs the "
           "capability")
    def _():
        with target(NOBODY, "nondumpable") as p:
            expect(refused(NOBODY, p.pid), f"PID {p.pid} is not dumpable", "PR_SET_DUMPABLE", "CAP_SYS_PTRACE",
                   "as root")

    @check("kernel.yama.ptrace_scope 1 and 2: only descendants, then only CAP_SYS_PTRACE")
    def _():
        path = "/proc/sys/kernel/yama/ptrace_scope"
        if not os.path.exists(path):
            print("     (skipped: this kernel has no Yama: /proc/sys/kernel/yama is absent)")
            return
        if not os.access(path, os.W_OK):
            print(f"     (skipped: {path} may not be written here)")
            return
        with open(path) as f:
            saved = f.read().strip()
        try:
            for scope, needles in (("1", ("ptrace_scope is 1", "let pyfold start the program")),
                                   ("2", ("ptrace_scope is 2", "CAP_SYS_PTRACE"))):
                with open(path, "w") as f:
                    f.write(scope)
                with target(NOBODY) as p:
                    expect(refused(NOBODY, p.pid), *needles)
        finally:
            with open(path, "w") as f:
                f.write(saved)

    @check("--subprocesses: a child that makes itself non-dumpable is said in the summary with why, the parent "
           "recorded to the end")
    def _():
        parent = os.path.join(TMP, "parent.py")
        with open(parent, "w") as f:
            f.write("import subprocess, sys, time\n"
                    f"child = subprocess.Popen([sys.executable, {SLEEPER!r}, 'nondumpable'])\n"
                    "end = time.time() + 30\n\ndef spin():\n    while time.time() < end:\n        pass\n\nspin()\n")
        os.chmod(parent, 0o644)
        out = os.path.join(TMP, "family.folded")
        r = subprocess.run(NOBODY + [RECORD, "-d", "3.5", "--subprocesses", "-o", out, "--", PYTHON, parent],
                           capture_output=True, text=True, timeout=60, cwd=TMP, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        # (Read from its start until it made itself non-dumpable, or refused from the start: said either way.)
        assert "cannot read the memory of PID" in r.stderr and "is not dumpable" in r.stderr, r.stderr
        with open(out) as f:
            assert any(frames[-1][0] == "spin" for frames, _ in parse_folded(f.read(), bare=("process ",)))

    @check("a seccomp filter refusing process_vm_readv and ptrace (Docker's default without CAP_SYS_PTRACE): "
           "record, dump and top of a running Python name the filter and the fix")
    def _():
        with target() as p:
            expect(refused(SECCOMP, p.pid), "a seccomp filter on pyfold", "refuses process_vm_readv",
                   "--security-opt seccomp=")

    @check("under that filter, `pyfold record -d 2 prog.py` samples from inside (no --method given) and says why")
    def _():
        r, stacks = record_launched(SECCOMP, "seccomp", "-d", "2", "--python", PYTHON, SPIN)
        assert "reading the program from outside was refused" in r.stderr and "seccomp" in r.stderr, r.stderr
        assert "in-process method" in r.stderr, r.stderr
        spin = sum(count for frames, count in stacks if frames[-1][0] == "spin")
        assert spin >= 0.9 * sum(count for _, count in stacks), stacks[:3]

    @check("under that filter, `pyfold record -- python3 prog.py` is refused before the program starts, with the "
           "cause and the form that works")
    def _():
        marker = os.path.join(TMP, "started")
        prog = os.path.join(TMP, "marks.py")
        with open(prog, "w") as f:
            f.write(f"open({marker!r}, 'w').close()\n")
        os.chmod(prog, 0o644)
        r = subprocess.run(SECCOMP + [RECORD, "-d", "2", "-o", os.path.join(TMP, "none.folded"), "--", PYTHON, prog],
                           capture_output=True, text=True, timeout=60, cwd=TMP, stdin=subprocess.DEVNULL)
        assert r.returncode != 0, r.stderr
        for needle in ("seccomp", "script.py or -m MODULE, not -- COMMAND", "--method inprocess app.py"):
            assert needle in r.stderr, (needle, r.stderr)
        assert not os.path.exists(marker), "the program ran"

    @check("as nobody, `pyfold record -d 1 -- python3 prog.py` samples the program it starts")
    def _():
        _, stacks = record_launched(NOBODY, "launched", "-d", "1", "--", PYTHON, SPIN)
        assert any(frames[-1][0] == "spin" for frames, _ in stacks), stacks[:3]

    finish()


main()
