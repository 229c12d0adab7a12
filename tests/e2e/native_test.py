#!/usr/bin/env python3
"""End-to-end tests of pyfold record --native: the real binary sampling tests/e2e/targets/native_mix.py (zlib,
ctypes qsort with a Python callback, hashlib, a thread in time.sleep) under every CPython tests/pythons/pythons.py
finds; a missing interpreter is skipped with a message, or fails when PYFOLD_REQUIRE_PYTHONS names it (CI). Exit 77
when no interpreter was found.

Usage: native_test.py PYFOLD_RECORD SOURCE_ROOT PYFOLD_DUMP
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from harness import (TARGETS, check, finish, interpreters, never_left_stopped, once, parse_folded, running,
                     split_frame)

RECORD, ROOT, DUMP = (os.path.abspath(a) for a in sys.argv[1:4])
TARGET = os.path.join(TARGETS, "native_mix.py")
SLEEPER = os.path.join(TARGETS, "sleeper.py")
TMP = tempfile.mkdtemp(prefix="pyfold-native-e2e-")


def is_python(frame):
    return frame[1].endswith(".py")


def index_of(frames, test, start=0):
    for i in range(start, len(frames)):
        if test(frames[i]):
            return i
    return -1


def record(python, args, seconds):
    """(stacks, the compress share the program measured for its parts, stderr)."""
    r = subprocess.run([RECORD, "--native", "--rate", "250"] + args + ["--", python, TARGET, str(seconds)],
                       capture_output=True, timeout=120, cwd=TMP)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, (r.returncode, err)
    said = re.search(r"^native_mix: (.*)$", err, re.M)
    spent = dict((name, float(t)) for name, t in re.findall(r"(\w+) ([\d.]+) s", said.group(1) if said else ""))
    assert set(spent) == {"compress", "spin", "sort", "hash"}, f"the program did not say how long its parts took: {err[-400:]!r}"
    # every frame `name (file[:line])`: native frames name their module
    return parse_folded(r.stdout, bare=()), spent["compress"] / sum(spent.values()), err


def per_interpreter(label, python):
    @once
    def wall():
        """(stacks, the compress share the program measured, stderr, the main loop's stacks) of a wall recording."""
        stacks, known, err = record(python, [], 2.0)
        return stacks, known, err, [(f, c) for f, c in stacks if any(x[0] == "main_loop" for x in f)]

    @check(f"{label}: --native --mode wall records (every stack well formed)")
    def _():
        stacks, _, err, _ = wall()
        assert sum(c for _, c in stacks) > 200, err

    @check(f"{label}: every stack starts at the module's first Python frame (or the thread's)")
    def _():
        stacks = wall()[0]
        for frames, _ in stacks:
            first = frames[0]
            assert is_python(first) and (first[0] == "<module>" or "threading" in first[1]), frames[:3]

    @check(f"{label}: zlib.compress: its share within 0.05 of the one the program measured, a libz frame under "
           "the C compress")
    def _():
        _, known, _, main = wall()
        parts = [(f, c) for f, c in main if any(x[0] in ("compress_it", "spin", "sort_it", "hash_it") for x in f)]
        inside = [(f, c) for f, c in parts if any(x[0] == "compress_it" for x in f)]
        share = sum(c for _, c in inside) / sum(c for _, c in parts)
        print(f"     compress share {share:.3f} (the program measured {known:.3f})")
        assert abs(share - known) <= 0.05, f"compress share {share:.3f}, the program measured {known:.3f}"
        with_libz = 0
        for frames, count in inside:
            caller = index_of(frames, lambda x: x[0] == "compress_it")
            libz = index_of(frames, lambda x: x[1].startswith("libz.so"), caller + 1)
            if libz < 0:
                continue
            with_libz += count
            # Every frame between the caller and libz is native; where the zlib module has a symbol table, its
            # compress function is the one that calls into libz.
            between = frames[caller + 1:libz]
            assert between and not any(is_python(x) for x in between), frames
            named = [x for x in between if "compress" in x[0]]
            if "zlib" in between[-1][1] or named:
                assert named and "compress" in between[-1][0], frames
        assert with_libz >= 0.5 * sum(c for _, c in inside), (with_libz, sum(c for _, c in inside))

    @check(f"{label}: ctypes qsort: Python caller -> qsort -> ctypes/libffi frames -> the Python callback")
    def _():
        main = wall()[3]
        seen = whole = 0
        for frames, count in main:
            caller = index_of(frames, lambda x: x[0] == "sort_it")
            callback = index_of(frames, lambda x: x[0] == "cmp" and is_python(x))
            if caller < 0 or callback < 0:
                continue
            seen += count
            assert not any(is_python(x) for x in frames[caller + 1:callback]), frames
            qsort = index_of(frames, lambda x: "qsort" in x[0] or "msort" in x[0], caller + 1)
            if 0 <= qsort < callback:
                whole += count
                between = frames[qsort + 1:callback]
                assert any("ffi" in x[1] or "_ctypes" in x[1] or "ffi" in x[0] for x in between), frames
            else:
                # Only a stack that says where its unwind was cut may lack qsort (a thread stopped inside a
                # libffi trampoline page, which no module's unwind information covers)
                cut = index_of(frames, lambda x: x[0] == "[native stack cut short]", caller + 1)
                assert 0 <= cut < callback, frames
        assert seen > 0, "no sample in the callback"
        assert whole >= 0.9 * seen, f"only {whole} of {seen} callback samples unwound through qsort"

    @check(f"{label}: hashlib.sha256: a libcrypto frame under hash_it")
    def _():
        main = wall()[3]
        hashed = [(f, c) for f, c in main if any(x[0] == "hash_it" for x in f)]
        crypto = sum(c for f, c in hashed if any(x[1].startswith("libcrypto") for x in f))
        assert hashed and crypto >= 0.5 * sum(c for _, c in hashed), (crypto, sum(c for _, c in hashed))

    @check(f"{label}: the thread in time.sleep shows its system call's wait frame")
    def _():
        sleeping = [(f, c) for f, c in wall()[0] if any(x[0] == "sleeper" for x in f)]
        waiting = 0
        for frames, count in sleeping:  # (all but the moment it starts and goes to sleep)
            below = frames[index_of(frames, lambda x: x[0] == "sleeper") + 1:]
            if any(x[1].startswith("libc.so") and re.search(r"sleep|select|poll", x[0]) for x in below):
                waiting += count
        assert waiting >= 0.9 * sum(c for _, c in sleeping), sleeping[:2]

    @check(f"{label}: --mode cpu: the sleeping thread never in its wait, the main loop still there")
    def _():
        cpu, _, err = record(python, ["--mode", "cpu"], 1.0)
        # (the thread runs for a moment when it starts, before it sleeps; on a loaded machine it may be caught in
        # the libc call itself while still running, not yet asleep: seen once in CI, 3.10. A thread whose wait were
        # counted would have about 250 samples in it, one every 4 ms.)
        waiting = [(f, c) for f, c in cpu if any(x[0] == "sleeper" for x in f) and f[-1][1].startswith("libc.so")
                   and re.search(r"nanosleep|select|poll", f[-1][0])]
        assert sum(c for _, c in waiting) <= 2, waiting[:1]
        assert sum(c for f, c in cpu if any(x[0] == "main_loop" for x in f)) > 50, err


def dump_threads(text):
    """{thread name: [(name, file, line)] innermost first} from pyfold dump's output."""
    threads, frames = {}, None
    for line in text.splitlines():
        m = re.match(r'^Thread \d+ \(\S+\): "(.*)"$', line)
        if m:
            frames = threads.setdefault(m.group(1), [])
        elif line.startswith("    ") and frames is not None:
            frame = split_frame(line[4:])
            assert frame[1], f"bad frame {line!r}"
            frames.append(frame)
    return threads


def dump_check(label, python):
    @check(f"{label}: pyfold dump --native: each thread's C frames among its Python frames, innermost first")
    def _():
        with running([python, TARGET, "30"], ready="stderr", stdout=subprocess.DEVNULL, cwd=TMP) as p:
            in_library = None
            for attempt in range(40):  # until the main thread is caught inside a C library
                r = subprocess.run([DUMP, "--native", "--pid", str(p.pid)], capture_output=True, timeout=30)
                assert r.returncode == 0, r.stderr
                threads = dump_threads(r.stdout.decode())
                assert len(threads) == 2 and "MainThread" in threads, threads
                main, sleeper = threads.pop("MainThread"), threads.popitem()[1]
                # The sleeping thread: in libc's wait, under the time.sleep builtin, under sleeper.
                at = index_of(sleeper, lambda x: x[0] == "sleeper")
                assert at > 0 and any(x[1].startswith("libc.so") and re.search(r"sleep|select|poll", x[0])
                                      for x in sleeper[:at]), sleeper
                # The main thread: its Python frames all there, in order, the module's outermost.
                python_frames = [x[0] for x in main if is_python(x)]
                assert python_frames[-3:] == ["main_loop", "main", "<module>"], main
                leaf = index_of(main, is_python)
                if any(re.match(r"(libz|libcrypto|libffi|libc)\.so", x[1]) for x in main[:leaf]):
                    in_library = main
                    break
                time.sleep(0.05)
            assert in_library, f"the main thread never seen inside a C library: {main}"


def common(label, python):
    @check(f"{label}: --native-all: stacks start at the thread's native root, the interpreter's frames kept")
    def _():
        stacks, _, err = record(python, ["--native-all"], 1.0)
        roots = {f[0][0] for f, _ in stacks}
        assert roots <= {"_start", "clone", "clone3", "__clone", "__clone3", "[native stack cut short]"}, roots
        assert any(any(x[0].startswith("Py") and not is_python(x) for x in f) for f, _ in stacks), err

    @check(f"{label}: pyfold --native killed with SIGKILL mid-sample never leaves the target stopped")
    def _():
        never_left_stopped(python, SLEEPER, [RECORD, "--native", "--rate", "2000"])

    @check("--native with --method inprocess: a clear error")
    def _():
        r = subprocess.run([RECORD, "--native", "--method", "inprocess", "--python", python, TARGET, "0.1", "x"],
                           capture_output=True, timeout=30, cwd=TMP)
        assert r.returncode != 0 and b"--native" in r.stderr and not r.stdout, r.stderr


found = [(p.label, p.path) for p in interpreters()]
for label, python in found:
    per_interpreter(label, python)
    dump_check(label, python)
if found:
    label, python = next(((l, p) for l, p in found if l == "3.12"), found[0])
    common(label, python)
shutil.rmtree(TMP, ignore_errors=True)
finish(skip_reason="no CPython found: nothing tested")
