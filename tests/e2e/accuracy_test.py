#!/usr/bin/env python3
"""End-to-end accuracy of pyfold record's default (live) method, timing-free: on every interpreter found, a program
with known proportions whose heavy part is fast recursion (targets/fast_recursion.py: 3 units of fib, 1 unit of a
long C call) gets its share within 0.05 of the share the program measured itself (a busy machine stretches its phases),
with fewer than 1% of samples not recorded; a program of recursive
generators and send()-driven coroutines (targets/generator_tree.py) never gets a stack that does not start at the
program's first frame (both again with two busy processes beside them); and a program of many tiny method calls
(targets/tiny_methods.py) gets the same self shares as with --blocking, within 5 points, and with --check-reads
every read it made off the CPU is the same as a read with the program stopped at that instant (on one interpreter
of each way frames are kept); and on three threads the in-process method agrees with --blocking on how the fib
thread's time splits (3.12).

Usage: accuracy_test.py PYFOLD_RECORD SOURCE_ROOT
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from harness import TARGETS, finish, interpreters, parse_folded, run_check, run_check_again_later, run_checks_left

RECORD, ROOT = (os.path.abspath(a) for a in sys.argv[1:3])
TMP = tempfile.mkdtemp(prefix="pyfold-accuracy-e2e-")


def record(python, target, seconds, extra=()):
    """([([(function, file name without its directory)], count)], stderr) of a recording of a target."""
    out = os.path.join(TMP, "out.folded")
    r = subprocess.run([RECORD, "--python", python, "-o", out, *extra, os.path.join(TARGETS, target), str(seconds)],
                       capture_output=True, text=True, timeout=120, cwd=TMP)
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-400:]}"
    with open(out, encoding="utf-8") as f:
        stacks = parse_folded(f.read())
    return [([(name, os.path.basename(file)) for name, file, _ in frames], count) for frames, count in stacks], r.stderr


def not_recorded(stderr):
    """(taken, not recorded) from the summary."""
    taken = re.search(r"(\d+) samples", stderr)
    missed = re.search(r"(\d+) (?:not recorded|dropped)", stderr)
    assert taken, f"no summary in {stderr!r}"
    return int(taken.group(1)), int(missed.group(1)) if missed else 0


def proportions(python):
    stacks, stderr = record(python, "fast_recursion.py", 3)
    mine = [(f, c) for f, c in stacks if any(name == "main" and file == "fast_recursion.py" for name, file in f)]
    heavy = sum(c for f, c in mine if any(name == "recursion" for name, _ in f))
    light = sum(c for f, c in mine if any(name == "c_call" for name, _ in f))
    assert heavy + light > 1000, f"only {heavy + light} samples in the program's two parts"
    cut = [(f, c) for f, c in stacks if f[0] != ("<module>", "fast_recursion.py") and
           any(file == "fast_recursion.py" for _, file in f)]
    assert not cut, f"{sum(c for _, c in cut)} stacks do not start at the program's first frame: " + \
        ";".join(name for name, _ in cut[0][0])
    share = heavy / (heavy + light)
    spent = re.search(r"fast_recursion: recursion ([\d.]+) s, c_call ([\d.]+) s", stderr)
    assert spent, f"the program did not say how long its parts took: {stderr[-400:]!r}"
    truth = float(spent.group(1)) / (float(spent.group(1)) + float(spent.group(2)))
    taken, missed = not_recorded(stderr)
    print(f"     recursion share {share:.3f} (the program measured {truth:.3f}), {missed} of {taken} not recorded")
    assert abs(share - truth) <= 0.05, f"recursion share {share:.3f}, the program measured {truth:.3f} (0.05 allowed)"
    assert missed * 100 < taken, f"{missed} of {taken} samples not recorded (1% allowed)"


def whole_stacks(python):
    stacks, stderr = record(python, "generator_tree.py", 2)
    program = [(f, c) for f, c in stacks if any(file == "generator_tree.py" for _, file in f)]
    bad = [(f, c) for f, c in program if f[0] != ("<module>", "generator_tree.py")]
    n = sum(c for _, c in program)
    taken, missed = not_recorded(stderr)
    print(f"     {n} samples in the program, {missed} of {taken} not recorded")
    assert n > 500, f"only {n} samples in the program"
    assert not bad, f"{sum(c for _, c in bad)} stacks do not start at the program's first frame: " + \
        ";".join(name for name, _ in bad[0][0])
    assert any(sum(1 for name, _ in f if name == "walk") >= 5 for f, _ in program), "no deep generator chain seen"
    assert missed * 100 < taken, f"{missed} of {taken} samples not recorded (1% allowed)"


def run_summary(stderr):
    """The recorder's summary lines (samples, reads, lateness), for a failure's message."""
    return " / ".join(line.replace("pyfold-record: ", "", 1) for line in stderr.splitlines()
                      if re.search(r"samples in |per sample", line))


def self_shares(stacks, file, at_least=1000):
    """{function: share of the program's samples spent in it itself}, over the stacks inside file."""
    own, total = {}, 0
    for frames, count in stacks:
        if any(f == file for _, f in frames):
            total += count
            own[frames[-1][0]] = own.get(frames[-1][0], 0) + count
    assert total > at_least, f"only {total} samples in the program"
    return {name: n / total for name, n in own.items()}


def like_blocking(python):
    """The default method's self shares on tiny methods agree with --blocking's (both read every stack whole; the
    difference is when): the live read of a running thread moved 7-20 points between a loop and its callees. So do
    the in-process method's (its native sampler reads as the remote method does; Python's signal handler, which it
    replaced, put 35 points too much in Vec.__init__ on the benchmark's vector workload).

    The three are recorded in turn, three times (2.5 s each: beside two busy processes --blocking takes about 400
    samples a second), and each function's median share over a method's three runs is compared: now and then one
    run of the program spends its time differently whichever method reads it (in CI a --blocking run gave
    Vec.__init__ 0.203 where 0.11 is usual, and a remote run 0.210), and the median leaves such a run out. A fault
    of the method moves all three."""
    methods = {"blocking": ["--blocking"], "remote": ["--method", "remote"], "inprocess": ["--method", "inprocess"]}
    runs = {m: [] for m in methods}
    said = {m: [] for m in methods}
    for _ in range(3):
        for method, options in methods.items():
            stacks, err = record(python, "tiny_methods.py", 2.5, options)
            runs[method].append(self_shares(stacks, "tiny_methods.py", at_least=800))
            said[method].append(run_summary(err))

    def median(method, function):
        return statistics.median(r.get(function, 0) for r in runs[method])

    def each(method, function):
        return "/".join(f"{r.get(function, 0):.3f}" for r in runs[method])

    for method in ("remote", "inprocess"):
        functions = set().union(*runs[method], *runs["blocking"])
        worst = max(functions, key=lambda f: abs(median(method, f) - median("blocking", f)))
        live, stopped = median(method, worst), median("blocking", worst)
        d = abs(live - stopped)
        print(f"     {method}: largest difference from --blocking in a median self share: {100 * d:.1f} points "
              f"({worst}: {each(method, worst)} against {each('blocking', worst)})")
        # Noise alone: three runs of one method spread over up to 5 points; over 24 comparisons of medians on six
        # interpreters, idle and beside two busy processes, the largest difference was 3.2 points. The fault this
        # guards against gave 7-20.
        assert d <= 0.05, \
            f"{method}: {worst}: self share {each(method, worst)}, {each('blocking', worst)} with --blocking " \
            f"(the recorder said, --blocking: {' | '.join(said['blocking'])}; {method}: {' | '.join(said[method])})"


def reads_checked(python):
    """--check-reads: each read the default method made while the GIL's thread was off its CPU, read again with the
    program stopped at that instant, is the same, frame for frame and line for line, on code that calls every
    50-100 ns (where a read of the running thread differs almost always). A few may differ: the thread can be
    moved to the other CPU and run there in the microseconds between the check and the stop."""
    _, err = record(python, "tiny_methods.py", 1.5, ["--check-reads", "--rate", "200"])
    m = re.search(r"--check-reads: (\d+) reads off the CPU the same as with the program stopped, (\d+) different, "
                  r"(\d+) not compared", err)
    assert m, err[-600:]
    same, differed, skipped = (int(g) for g in m.groups())
    taken, _ = not_recorded(err)
    off_cpu = same + differed + skipped
    print(f"     {same} the same, {differed} different, {skipped} not compared, of {taken} samples")
    # (each check stops and resumes the program, which often wakes on the other CPU: the next sample is then read
    # with the program stopped, and not checked)
    assert off_cpu >= 0.3 * taken, f"only {off_cpu} of {taken} samples read off the CPU"
    assert same >= 0.9 * off_cpu, f"only {same} of {off_cpu} reads off the CPU compared the same"
    assert differed <= max(3, 0.05 * (same + differed)), err[-1500:]  # (a read of the running thread: most differ)


def threads_in_process(python):
    """Three threads (`--mode gil`): the in-process method's share of the fib thread's long C call agrees with
    --blocking's. It was 7-8 points over in every run while a tick that found the GIL's thread on the other CPU moved
    there before reading, milliseconds late (a long C call outlasts the wait, a short state does not)."""
    def long_call_share(extra):
        out = os.path.join(TMP, "threads.folded")
        r = subprocess.run([RECORD, "--python", python, "-o", out, "--threads", "--mode", "gil", *extra,
                            os.path.join(TARGETS, "accuracy_workloads.py"), "threads", "250"],
                           capture_output=True, text=True, timeout=120, cwd=TMP)
        assert r.returncode == 0, f"exit {r.returncode}: {r.stderr[-400:]}"
        with open(out, encoding="utf-8") as f:
            stacks = parse_folded(f.read(), bare=("thread (",))
        fib = [(frames, count) for frames, count in stacks if frames[0][0].endswith(": fib-thread")]
        total = sum(count for _, count in fib)
        assert total > 500, f"only {total} samples of the fib thread"
        return sum(count for frames, count in fib if any(name == "long_c_call" for name, _, _ in frames)) / total
    stopped = long_call_share(["--blocking"])
    inside = long_call_share(["--method", "inprocess"])
    print(f"     fib thread's long C call: {inside:.3f} in-process, {stopped:.3f} with --blocking")
    assert abs(inside - stopped) <= 0.04, f"in-process {inside:.3f}, --blocking {stopped:.3f} (4 points allowed)"


def once_more(check_fn, python):
    """A second run before failing: under load four processes on two CPUs move the program's own phases; two runs
    compared by their shares differ by sampling noise alone."""
    try:
        check_fn(python)
    except AssertionError as first:
        print(f"     first run: {first}; once more")
        check_fn(python)


# One interpreter of each way frames are kept (frame objects, 3.11's and 3.12's cframes, 3.13's and 3.15's
# thread-state pointer and base frame, Debian's static build), to keep the test's time down.
TINY_METHODS_ON = {"3.8", "3.11", "3.11-debian-static", "3.12", "3.13", "3.15"}
pythons = [(p.label, p.path) for p in interpreters()]
for label, python in pythons:
    run_check(f"{label}: fast recursion beside a long C call: share within 0.05, <1% not recorded",
              lambda: proportions(python))
    run_check(f"{label}: recursive generators and coroutines: every stack starts at the program's first frame",
              lambda: whole_stacks(python))
    if label in TINY_METHODS_ON:
        run_check_again_later(f"{label}: tiny methods: self shares within 5 points of --blocking's (remote and "
                              "in-process)", lambda python=python: like_blocking(python))
        run_check(f"{label}: tiny methods: every read off the CPU the same as a read with the program stopped "
                  "(--check-reads)", lambda: reads_checked(python))

run_checks_left()

for label, python in pythons:
    if label == "3.12":
        run_check(f"{label}: three threads (--mode gil): the in-process method's shares within a thread as "
                  "--blocking's", lambda: once_more(threads_in_process, python))

# The same beside two busy processes (the sampler and the program compete for the CPUs).
busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
try:
    for label, python in pythons[:1] + [p for p in pythons if p[0] == "3.13"]:
        run_check(f"{label} under load: fast recursion share and <1% not recorded", lambda: once_more(proportions, python))
        run_check(f"{label} under load: whole stacks", lambda: whole_stacks(python))
finally:
    for p in busy:
        p.kill()
shutil.rmtree(TMP, ignore_errors=True)
finish(skip_reason="no CPython found")
