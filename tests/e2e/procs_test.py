#!/usr/bin/env python3
"""End-to-end tests of what pyfold does to the processes it did not write (issue 23 parts 1 and 2):
- nothing left running: a launched program with multiprocessing children, and one whose shell starts grandchildren
  (a background job that ignores SIGINT, one that leaves the group with setsid, a double-forked daemon), recorded
  until --duration, SIGINT to pyfold alone, SIGTERM, or an early error: afterwards no process of the launched tree is
  alive, and with --subprocesses every one of them was sampled before the end; both methods; an attached --pid and
  its children are never signalled; a program on pyfold's terminal reads it and gets its Ctrl-C;
- wrapper PIDs: a shell over Python given to --pid: dump and record name the Python child (exit 3);
  --subprocesses reads it, also one that starts two seconds later.
The cleanup checks run on one interpreter (3.12 when present), one quick check on every interpreter.

Usage: procs_test.py PYFOLD_RECORD PYFOLD_DUMP"""
import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import TARGETS, check, finish, interpreters, parse_folded, running

RECORD, DUMP = (os.path.abspath(a) for a in sys.argv[1:3])
TMP = tempfile.mkdtemp(prefix="pyfold-procs-e2e-")
FAMILY = os.path.join(TARGETS, "family.py")
MEMBERS = {"pool": ("parent", "child0", "child1"), "shell": ("parent", "background", "setsid", "daemon")}


def alive(pid):
    """True while pid runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def left_running(folder):
    """The processes whose command line names folder (every process of a family does) that still run."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if folder in cmdline and alive(int(entry)):
            out.append(f"{entry}: {cmdline}")
    return out


def kill_family(folder):
    for line in left_running(folder):
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except OSError:
            pass


def wait_for_pids(folder, names, p, seconds=20):
    """{name: pid} once every member wrote its PID file (asserts they all did while pyfold ran)."""
    end = time.time() + seconds
    while time.time() < end:
        files = {n: os.path.join(folder, n + ".pid") for n in names}
        if all(os.path.exists(f) for f in files.values()):
            return {n: int(open(f).read()) for n, f in files.items()}
        assert p.poll() is None, f"pyfold ended early ({p.returncode}): {p.stderr.read().decode()[-2000:]}"
        time.sleep(0.05)
    raise AssertionError(f"not every process of the family started in {seconds} s: {os.listdir(folder)}")


def record_family(python, mode, end, method="remote", subprocesses=True):
    """Records `family.py MODE` until end ("duration", "sigint", "sigterm"); asserts pyfold's exit code, that no
    process of the family is left and (--subprocesses) that each was sampled. Returns pyfold's stderr."""
    folder = tempfile.mkdtemp(dir=TMP, prefix=f"{mode}-{end}-")
    out = os.path.join(folder, "out.folded")
    args = [RECORD, "-o", out, "--method", method, "--python", python]
    args += ["--subprocesses"] if subprocesses else []
    args += ["-d", "4"] if end == "duration" else []
    p = subprocess.Popen(args + [FAMILY, mode, folder], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=TMP)
    try:
        pids = wait_for_pids(folder, MEMBERS[mode], p)
        if end != "duration":
            time.sleep(1.0)  # every process sampled a while
            os.kill(p.pid, signal.SIGINT if end == "sigint" else signal.SIGTERM)
        err = p.communicate(timeout=30)[1].decode(errors="replace")
        left = left_running(folder)
        assert not left, f"left running after pyfold ended: {left}"
        want = {"duration": 0, "sigint": 128 + signal.SIGINT, "sigterm": 128 + signal.SIGTERM}[end]
        assert p.returncode == want, (p.returncode, want, err[-2000:])
        if subprocesses:
            stacks = parse_folded(open(out).read(), bare=("process ",))
            counts = {}
            for frames, count in stacks:
                m = re.match(r"process (\d+):", frames[0][0])
                if m and any(f[0] in ("parent_wait", "child_wait", "leaf_wait") for f in frames):
                    counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + count
            missed = [n for n, pid in pids.items() if counts.get(pid, 0) < 5]
            assert not missed, f"not sampled: {missed} ({pids}, {counts})"
        else:
            assert os.path.getsize(out) > 0, err
        return err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        kill_family(folder)


def cleanup_checks(label, python, minor):
    for mode in ("pool", "shell"):
        for end in ("duration", "sigint", "sigterm"):
            @check(f"{label}: {mode} family, ended by {end}: nothing left running, every process sampled")
            def _():
                record_family(python, mode, end)

    for end in ("duration", "sigint"):
        @check(f"{label}: --method inprocess, shell family, ended by {end}: nothing left running")
        def _():
            record_family(python, "shell", end, method="inprocess", subprocesses=False)

    @check(f"{label}: an error after launch (--async from outside before 3.14): the shell's children end too")
    def _():
        if minor >= 14:
            return  # (3.14+ reads --async from outside: no error to make)
        folder = tempfile.mkdtemp(dir=TMP, prefix="error-")
        me = f"'{python}' '{FAMILY}' leaf '{folder}'"
        script = f"{me} one & {me} two & while [ ! -e '{folder}/two.pid' ]; do sleep 0.05; done; exec {me} three"
        try:
            r = subprocess.run([RECORD, "--method", "remote", "--async", "-o", os.path.join(folder, "out"), "--",
                                "sh", "-c", script], capture_output=True, text=True, timeout=60)
            assert r.returncode == 1 and "--async" in r.stderr, (r.returncode, r.stderr[-2000:])
            assert os.path.exists(os.path.join(folder, "one.pid")), os.listdir(folder)
            left = left_running(folder)
            assert not left, f"left running after pyfold's error: {left}"
        finally:
            kill_family(folder)

    @check(f"{label}: pyfold SIGKILLed: the program's whole group dies with it (PR_SET_PDEATHSIG and the guard)")
    def _():
        folder = tempfile.mkdtemp(dir=TMP, prefix="sigkill-")
        p = subprocess.Popen([RECORD, "-o", os.path.join(folder, "out"), "--python", python, FAMILY, "pool", folder],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_pids(folder, MEMBERS["pool"], p)
            p.kill()
            p.wait()
            end = time.time() + 5
            while left_running(folder) and time.time() < end:
                time.sleep(0.05)
            left = left_running(folder)
            assert not left, f"left running after pyfold was killed: {left}"
        finally:
            kill_family(folder)

    @check(f"{label}: --pid: the attached process and its children are never signalled")
    def _():
        folder = tempfile.mkdtemp(dir=TMP, prefix="attached-")
        with running([python, FAMILY, "pool", folder], ready=None, stdout=subprocess.DEVNULL) as target:
            end = time.time() + 20
            while len([f for f in os.listdir(folder) if f.endswith(".pid")]) < 3 and time.time() < end:
                time.sleep(0.05)
            pids = [int(open(os.path.join(folder, f)).read()) for f in os.listdir(folder) if f.endswith(".pid")]
            for how in ("duration", "sigint", "sigterm"):
                p = subprocess.Popen([RECORD, "--subprocesses", "--pid", str(target.pid)] +
                                     (["-d", "0.5"] if how == "duration" else []),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(0.7)
                if how != "duration":
                    p.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
                err = p.communicate(timeout=30)[1].decode()
                assert p.returncode == 0, (how, p.returncode, err[-1000:])
                time.sleep(0.2)
                dead = [pid for pid in pids if not alive(pid)]
                assert len(pids) == 3 and not dead, (how, pids, dead)
        kill_family(folder)

    @check(f"{label}: on pyfold's terminal the program reads it, Ctrl-Z stops the job and fg resumes it, Ctrl-C "
           "ends it; the terminal comes back to pyfold")
    def _():
        terminal_check(python)


def terminal_check(python):
    """pyfold run by a stand-in shell as its foreground job on a pty: the program reads a line typed at the terminal
    (its group is the foreground group, so it is not stopped by SIGTTIN); Ctrl-Z stops the program and pyfold's job
    (the shell sees the job stopped) and `fg` resumes both, the program reading the terminal again; Ctrl-C ends the
    program (pyfold writes its samples and exits 130) and the job's group has the terminal again afterwards."""
    import pty
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    program = ("import sys, time\nfor ask in ('name?', 'again?'):\n    print(ask, flush=True)\n"
               "    print('got ' + sys.stdin.readline().strip(), flush=True)\nwhile True:\n    time.sleep(0.01)\n")
    script = os.path.join(TMP, "asks.py")
    open(script, "w").write(program)
    out = os.path.join(TMP, "terminal.folded")
    # The shell: leads a session whose controlling terminal is the pty, starts pyfold in a group of its own made
    # the foreground group (in the child before exec, as shells do), continues it in the foreground when it stops,
    # and once it has ended says whether the job's group has the terminal.
    shell = f"""import os, signal, subprocess
os.setsid()
fd = os.open({name!r}, os.O_RDWR)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
def job():
    os.setpgid(0, 0)
    os.tcsetpgrp(fd, os.getpid())
    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
p = subprocess.Popen([{RECORD!r}, '-o', {out!r}, '--python', {python!r}, {script!r}], stdin=fd, stdout=fd, stderr=fd,
                     preexec_fn=job)
while True:
    _, status = os.waitpid(p.pid, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        print('STOPPED', flush=True)
        os.tcsetpgrp(fd, p.pid)
        os.killpg(p.pid, signal.SIGCONT)
        continue
    print('EXIT', os.waitstatus_to_exitcode(status) % 256, 'FOREGROUND', os.tcgetpgrp(fd) == p.pid, flush=True)
    break
"""
    r = subprocess.Popen([sys.executable, "-c", shell], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    seen = b""
    try:
        seen = read_until(master, b"name?", seen)
        os.write(master, b"pyfold\n")
        seen = read_until(master, b"again?", seen)
        time.sleep(0.3)
        os.write(master, b"\x1a")  # Ctrl-Z
        assert select.select([r.stdout], [], [], 20)[0] and r.stdout.readline() == b"STOPPED\n", \
            f"the shell did not see its job stopped: {seen[-1000:]!r}"
        os.write(master, b"fg\n")
        seen = read_until(master, b"got fg", seen)
        time.sleep(0.3)
        os.write(master, b"\x03")  # Ctrl-C
        stdout, stderr = r.communicate(timeout=30)
    finally:
        if r.poll() is None:
            r.kill()
        os.close(master)
        os.close(slave)
    assert stdout.decode().strip() == "EXIT 130 FOREGROUND True", (stdout, stderr, seen[-1000:])
    assert sum(c for _, c in parse_folded(open(out).read())) > 0, "no samples written"


def read_until(fd, want, seen, seconds=20):
    end = time.time() + seconds
    while want not in seen:
        assert time.time() < end, f"no {want!r} on the terminal: {seen[-1000:]!r}"
        try:
            seen += os.read(fd, 4096)
        except OSError:
            raise AssertionError(f"terminal closed before {want!r}: {seen[-1000:]!r}")
    return seen


def wrapper_checks(label, python, main):
    sleeper = os.path.join(TARGETS, "sleeper.py")

    @check(f"{label}: dump --pid of a shell over Python names the child (PID, interpreter, command line), exit 3; "
           "--subprocesses dumps it")
    def _():
        with shell_over(f"'{python}' '{sleeper}'; true") as shell:
            child = wait_for_child(shell.pid)
            r = subprocess.run([DUMP, "--pid", str(shell.pid)], capture_output=True, text=True, timeout=30)
            assert r.returncode == 3 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
            named = re.search(rf"^  PID {child}: CPython 3\.(\d+) \((.+)\): (.+)$", r.stderr, re.M)
            assert named and f"PID {shell.pid} (sh) is not a Python process" in r.stderr, r.stderr
            assert named.group(3).endswith(sleeper) and "--subprocesses" in r.stderr, r.stderr
            r = subprocess.run([DUMP, "--subprocesses", "--pid", str(shell.pid)], capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 0 and f"Process {child}:" in r.stdout and "nap (" in r.stdout, (r.returncode,
                                                                                                   r.stdout, r.stderr)

    if not main:
        return

    @check(f"{label}: record --pid of a shell over Python names the child (exit 3); --subprocesses samples it, and "
           "the shell is never signalled")
    def _():
        with shell_over(f"'{python}' '{sleeper}'; true") as shell:
            child = wait_for_child(shell.pid)
            r = subprocess.run([RECORD, "-d", "0.5", "--pid", str(shell.pid)], capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 3 and r.stdout == "" and f"  PID {child}: CPython" in r.stderr, (r.returncode,
                                                                                                    r.stderr)
            r = subprocess.run([RECORD, "-d", "1", "--subprocesses", "--pid", str(shell.pid)], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 0, (r.returncode, r.stderr)
            roots = sampled_roots(r.stdout, "nap")
            assert roots.get(child, 0) > 100, (roots, r.stderr[-1000:])
            assert shell.poll() is None and alive(child), "the attached shell or its child was signalled"

    @check(f"{label}: record --pid WRAPPER --subprocesses follows a Python child that starts 2 s later")
    def _():
        with shell_over(f"echo READY; sleep 2; '{python}' '{sleeper}'; true") as shell:
            r = subprocess.run([RECORD, "-d", "5", "--subprocesses", "--pid", str(shell.pid)], capture_output=True,
                               text=True, timeout=30)
            assert r.returncode == 0, (r.returncode, r.stderr)
            roots = sampled_roots(r.stdout, "nap")
            assert len(roots) == 1 and list(roots.values())[0] > 100, (roots, r.stderr[-1000:])


@contextlib.contextmanager
def shell_over(command):
    """A shell running command (which prints READY) for the length of a with block; it and its children are
    killed at its end."""
    with running(["sh", "-c", command], ready="stdout", start_new_session=True) as shell:
        try:
            yield shell
        finally:
            os.killpg(shell.pid, signal.SIGKILL)


def wait_for_child(pid, seconds=20):
    """The PID of pid's one child once it is Python (pyfold dump says so), for a shell over Python."""
    end = time.time() + seconds
    while time.time() < end:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
        if children:
            r = subprocess.run([DUMP, "--nonblocking", "--pid", children[0]], capture_output=True, text=True)
            if r.returncode == 0:
                return int(children[0])
        time.sleep(0.05)
    raise AssertionError(f"no Python child of {pid} in {seconds} s")


def sampled_roots(folded, function):
    """{PID: samples} of the `process PID:` roots whose stacks hold function."""
    roots = {}
    for frames, count in parse_folded(folded, bare=("process ",)):
        m = re.match(r"process (\d+):", frames[0][0])
        if m and any(f[0] == function for f in frames):
            roots[int(m.group(1))] = roots.get(int(m.group(1)), 0) + count
    return roots


found = interpreters()
if found:
    main = next((p for p in found if p.label == "3.12"), found[-1])
    cleanup_checks(main.label, main.path, main.minor)
    for python in found:
        wrapper_checks(python.label, python.path, python is main)
    for python in found:
        if python is not main:
            @check(f"{python.label}: shell family, ended by --duration: nothing left running, every process sampled")
            def _():
                record_family(python.path, "shell", "duration")
shutil.rmtree(TMP, ignore_errors=True)
finish(skip_reason="no CPython found: nothing tested")
