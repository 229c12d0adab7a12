#!/usr/bin/env python3
"""End-to-end tests of the pstats collapser on dumps made now, by every Python on the machine and every writer:
`-m cProfile -o`, `cProfile.run`, `Profile.enable()/disable()` + `Stats.dump_stats`, `-m profile -o`,
`profile.run`. On each: Σ counts == round(Σ tottime × 1e6) (at an exact half, either way) as that Python's pstats reads it, every cProfile
prog.py function's self time equals its tottime (within rounding and 2%), and the known call chains appear.

Usage: pstats_test.py FOLD_COMMAND... (a command that takes a dump path last and writes folded lines:
       build/src/pyfold-collapse --format pstats)
Pythons: /root/.pyenv/versions/*/bin/python, Debian's 3.13-3.15 from tests/pythons/fetch.sh (a missing one is
skipped, or fails when PYFOLD_REQUIRE_PYTHONS names it) and /usr/bin/python3; exit 77 when there is none.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import failures, finish, run_check

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pythons"))
import pythons  # noqa: E402

FOLD = [os.path.abspath(sys.argv[1])] + sys.argv[2:]
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-pstats-")

PROGRAM = r'''
def shared(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def light():
    return shared(2000)


def heavy():
    return shared(20000)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    for _ in range(3):
        light()
        heavy()
    fib(12)
'''

# Each writer: (name, how the dump is made). {out} is the dump path; prog.py defines main().
WRITERS = {
    "cprofile-o": ["-m", "cProfile", "-o", "{out}", "run_main.py"],
    "profile-o": ["-m", "profile", "-o", "{out}", "run_main.py"],
    "cprofile-run": ["-c", "import cProfile, prog; cProfile.run('prog.main()', '{out}')"],
    "profile-run": ["-c", "import profile, prog; profile.run('prog.main()', '{out}')"],
    "enable-dump_stats": ["-c", "import cProfile, pstats, prog\n"
                                "p = cProfile.Profile(); p.enable(); prog.main(); p.disable()\n"
                                "pstats.Stats(p).dump_stats('{out}')"],
}

# Run by the Python that wrote the dump: Σ tottime (µs) and each function's frame text and tottime (µs).
EXPECT = r'''
import pstats, sys
stats = pstats.Stats(sys.argv[1]).stats
print(repr(sum(max(v[2], 0) for v in stats.values()) * 1e6))
for (f, line, name), v in stats.items():
    if not isinstance(name, str):
        continue
    frame = name if f == '~' else ('%s (%s:%d)' % (name, f, line) if f else name)
    sys.stdout.write('%s\t%d\n' % (frame, int(round(v[2] * 1e6))))
'''


def interpreters():
    found = sorted(glob.glob("/root/.pyenv/versions/*/bin/python"))
    # Debian's 3.13-3.15 (tests/pythons/fetch.sh) and any other newer CPython pyenv lacks (tests/pythons/pythons.py).
    seen = {os.path.basename(os.path.dirname(os.path.dirname(p)))[:4].rstrip(".") for p in found}
    for python in pythons.find(debian_static=False, minors=range(13, 16)):
        if python.label.endswith("-debian") or python.label not in seen:
            found.append(python.path)
    # Debian's own Python (not a pyenv shim on PATH, which may point nowhere)
    if os.path.exists("/usr/bin/python3"):
        found.append("/usr/bin/python3")
    return found


def run_case(python, writer, args):
    work = os.path.join(TMP, f"{python.strip('/').replace('/', '_')}-{writer}")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "prog.py"), "w") as f:
        f.write(PROGRAM)
    with open(os.path.join(work, "run_main.py"), "w") as f:
        f.write("import prog\nprog.main()\n")
    out = os.path.join(work, "dump.pstats")
    made = subprocess.run([python] + [a.replace("{out}", out) for a in args], cwd=work, capture_output=True)
    assert made.returncode == 0, f"making the dump failed: {made.stderr.decode(errors='replace')[-300:]}"
    expect = subprocess.run([python, "-c", EXPECT, out], cwd=work, capture_output=True, text=True)
    assert expect.returncode == 0, expect.stderr[-300:]
    lines = expect.stdout.splitlines()
    total_us = float(lines[0])  # unrounded: a tie (x.5 µs; times are whole ns) may round either way
    folded = subprocess.run(FOLD + [out], capture_output=True, text=True)
    assert folded.returncode == 0, f"exit {folded.returncode}: {folded.stderr[-300:]}"
    stacks = [line.rsplit(" ", 1) for line in folded.stdout.splitlines()]
    counts = sum(int(c) for _, c in stacks)
    assert abs(counts - total_us) <= 0.5, f"sum of counts {counts} != sum of tottime {total_us} us, rounded"
    # prog.py is imported by most writers: its file name is then a relative or absolute path, by version
    for chain in (r"heavy \([^;]*prog\.py:13\);shared \([^;]*prog\.py:2\)",
                  r"light \([^;]*prog\.py:9\);shared \([^;]*prog\.py:2\)",
                  r"main \([^;]*prog\.py:21\);fib \([^;]*prog\.py:17\)$"):
        assert any(re.search(chain, s) for s, _ in stacks), f"no stack matches {chain}"
    if writer.startswith("cprofile") or writer.startswith("enable"):
        # self time per function = tottime (default pruning moves subtrees under 1e-4 of the total: allow that)
        self_time = {}
        for s, c in stacks:
            leaf = s.rsplit(";", 1)[-1]
            self_time[leaf] = self_time.get(leaf, 0) + int(c)
        # prog.py's functions only: under default pruning, a function with many sub-microsecond callees (importlib)
        # keeps their time as its own
        for row in lines[1:]:
            frame, tt = row.rsplit("\t", 1)
            if "prog.py:" not in frame:
                continue
            got, want = self_time.get(frame, 0), int(tt)
            assert abs(got - want) <= 3 + 0.02 * want + 1e-4 * total_us * 3, \
                f"{frame}: self time {got} us, tottime {want} us"


def main():
    found = interpreters()
    failures.extend(pythons.failures)
    if not found and not failures:
        print("no Python found: nothing tested")
        sys.exit(77)
    for python in found:
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        for writer, args in WRITERS.items():
            if version == "2.7" and writer == "enable-dump_stats":
                args = [a.replace("p.enable(); prog.main(); p.disable()", "p.runcall(prog.main)") for a in args]
            run_check(f"{python} ({version}) {writer}", lambda: run_case(python, writer, args))
    shutil.rmtree(TMP, ignore_errors=True)
    finish()


main()
