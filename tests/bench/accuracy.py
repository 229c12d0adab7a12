#!/usr/bin/env python3
"""How true is pyfold record's flame graph? Records call-heavy workloads (accuracy_workloads.py) with the default
(live) method, with --blocking (the target stopped during each read: every stack exact, the reference) and with
--method inprocess, on every interpreter found, and prints per workload: samples taken, not recorded (%), retries,
and the largest difference in any function's inclusive and self share from --blocking (in points, with the function).

    tests/bench/accuracy.py                          # every interpreter found, every workload, ~4 s a run
    tests/bench/accuracy.py --python /usr/bin/python3.11 --workload fib --seconds 8
    tests/bench/accuracy.py --austin /path/to/austin --py-spy /path/to/py-spy   # peers beside pyfold
    tests/bench/accuracy.py --noise --no-inprocess   # a second --blocking run: the noise floor of each figure
    tests/bench/accuracy.py --only-inprocess         # the in-process method (its native sampler) alone

Two runs of one program differ by sampling noise alone: with N samples a share near 50% moves by about
100*sqrt(0.5/N) points between runs (0.7 points at 10,000 samples), so judge small differences against that.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from harness import frame_text, interpreters, parse_folded  # noqa: E402
WORKLOADS_PY = os.path.join(ROOT, "tests", "e2e", "targets", "accuracy_workloads.py")
WORKLOADS = ["fib", "vector", "generators", "coroutines", "deepcopy", "cheavy", "threads"]
THREAD_ROOT = re.compile(r"^thread \([^)]*\): (.*)$")


def shares(folded_text):
    """(total, {function: inclusive share}, {function: self share}); a function is `name (file)`. With thread roots
    (--threads, recorded with --mode gil) a function is `THREAD: name (file)` and its shares are of its own
    thread's samples: how long each thread lives depends on how the GIL was shared, which a profiler that stops the
    program changes; within a thread the shares say whether its stacks were read right. (In wall mode a thread
    waiting for the GIL shows the same stack for milliseconds: a few hundred switches decide its shares, and two
    runs differ by 10-17 points.)"""
    total, inclusive, own, per_group, group_of = 0, {}, {}, {}, {}
    for frames, count in parse_folded(folded_text, written=True):
        total += count
        group = ""
        m = THREAD_ROOT.match(frame_text(*frames[0]))
        if m:
            group, frames = m.group(1) + ": ", frames[1:]
            if not frames:
                continue
        per_group[group] = per_group.get(group, 0) + count
        functions = [group + frame_text(name, file) for name, file, _ in frames]
        for f in set(functions):
            inclusive[f] = inclusive.get(f, 0) + count
            group_of[f] = group
        own[functions[-1]] = own.get(functions[-1], 0) + count
    # A thread with few samples (the main thread's imports before it starts the others) has no shares to judge.
    big = {g for g, n in per_group.items() if n >= total / 10}
    return (total, {(group_of[f], f): n / per_group[group_of[f]] for f, n in inclusive.items() if group_of[f] in big},
            {(group_of[f], f): n / per_group[group_of[f]] for f, n in own.items() if group_of[f] in big})


def largest_difference(a, b):
    """(points, function) of the largest |share_a - share_b| over the functions of the threads in both."""
    groups = {g for g, _ in a} & {g for g, _ in b}
    best = (0.0, "-")
    for key in set(a) | set(b):
        d = abs(100.0 * a.get(key, 0) - 100.0 * b.get(key, 0))
        if key[0] in groups and d > best[0]:
            best = (d, key[1])
    return best


def summary_numbers(stderr):
    """(taken, not recorded, retries) from pyfold record's summary; None where it says nothing."""
    def number(pattern):
        m = re.search(pattern, stderr)
        return int(m.group(1)) if m else None
    taken = number(r"(\d+) samples? taken") or number(r"(\d+) samples")
    missed = number(r"(\d+) not recorded")
    if missed is None:
        missed = number(r"(\d+) dropped")
    return taken, missed, number(r"(\d+) retr(?:y|ies)")


def record(args, method, python, workload, scale, out):
    if method == "austin":
        cmd = [args.austin, "-i", str(int(1e6 / args.rate)), "-o", out + ".austin", python, WORKLOADS_PY, workload,
               str(scale)]
    elif method == "py-spy":
        cmd = [args.py_spy, "record", "-r", str(int(args.rate)), "-f", "raw", "-o", out, "--", python, WORKLOADS_PY,
               workload, str(scale)]
    else:
        extra = {"default": [], "blocking": ["--blocking"], "blocking-again": ["--blocking"],
                 "inprocess": ["--method", "inprocess"]}[method]
        if workload == "threads":  # the GIL holder's stack, and shares within each thread (see shares())
            extra = extra + ["--threads", "--mode", "gil"]
        cmd = [args.pyfold, "--rate", str(args.rate), "--python", python, "-o", out] + extra + \
              [WORKLOADS_PY, workload, str(scale)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if method == "austin":
        c = subprocess.run([args.collapse, "--format", "austin", out + ".austin", "-o", out], capture_output=True,
                           text=True)
        if c.returncode:
            raise RuntimeError(c.stderr)
    if r.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-500:]}")
    with open(out, encoding="utf-8", errors="replace") as f:
        text = f.read()
    return text, r.stderr


def calibrate(python, workload, seconds):
    """The scale at which the workload runs about `seconds` without a profiler."""
    scale = 2
    while True:
        start = time.monotonic()
        subprocess.run([python, WORKLOADS_PY, workload, str(scale)], check=True, capture_output=True)
        took = time.monotonic() - start
        if took >= 0.5 or scale >= 1 << 16:
            return max(1, round(scale * seconds / took))
        scale *= 4


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pyfold", default=os.path.join(ROOT, "build", "src", "pyfold-record"))
    p.add_argument("--collapse", default=os.path.join(ROOT, "build", "src", "pyfold-collapse"))
    p.add_argument("--python", action="append", help="interpreter (repeatable; default: every one found)")
    p.add_argument("--workload", action="append", choices=WORKLOADS, help="repeatable; default: all")
    p.add_argument("--seconds", type=float, default=4.0, help="target length of each run [4]")
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--no-inprocess", action="store_true")
    p.add_argument("--only-inprocess", action="store_true", help="compare --method inprocess alone with --blocking")
    p.add_argument("--noise", action="store_true",
                   help="also a second --blocking run: its difference from the first is sampling noise alone")
    p.add_argument("--austin")
    p.add_argument("--py-spy", dest="py_spy")
    args = p.parse_args()
    methods = ([] if args.only_inprocess else ["default"]) + (["blocking-again"] if args.noise else []) + \
        ([] if args.no_inprocess else ["inprocess"]) + \
        (["austin"] if args.austin else []) + (["py-spy"] if args.py_spy else [])
    tmp = tempfile.mkdtemp(prefix="pyfold-accuracy-")
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {os.uname().nodename} {os.cpu_count()} CPUs, rate {args.rate:g} Hz, "
          f"~{args.seconds:g} s a run; differences in points of share against --blocking")
    print(f"{'python':<10} {'workload':<11} {'method':<10} {'taken':>6} {'not rec.':>9} {'retries':>7} "
          f"{'incl. diff':>10} {'self diff':>9}  worst function (inclusive)")
    worst = {}
    for python in args.python or [p.path for p in interpreters()]:
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        label = version + ("-static" if python == "/usr/bin/python3.11" else
                           "-debian" if "/.cache/pyfold/pythons/" in python and version == "3.13" else "")
        for workload in args.workload or WORKLOADS:
            scale = calibrate(python, workload, args.seconds)
            out = os.path.join(tmp, f"{label}-{workload}")
            try:
                ref_text, ref_err = record(args, "blocking", python, workload, scale, out + "-blocking.folded")
            except RuntimeError as e:
                print(f"{label:<10} {workload:<11} blocking   failed: {e}")
                continue
            total, inclusive, own = shares(ref_text)
            taken, missed, retries = summary_numbers(ref_err)
            print(f"{label:<10} {workload:<11} {'blocking':<10} {taken or total:>6} "
                  f"{'-' if missed is None else missed:>9} {'-' if retries is None else retries:>7} {'ref':>10} "
                  f"{'ref':>9}", flush=True)
            for method in methods:
                try:
                    text, err = record(args, method, python, workload, scale, out + f"-{method}.folded")
                except RuntimeError as e:
                    print(f"{label:<10} {workload:<11} {method:<10} failed: {e}")
                    continue
                t2, i2, o2 = shares(text)
                di, fi = largest_difference(i2, inclusive)
                ds, _ = largest_difference(o2, own)
                taken, missed, retries = summary_numbers(err)
                if method in ("austin", "py-spy"):
                    taken, missed, retries = t2, None, None
                pct = "-" if missed is None or not taken else f"{100.0 * missed / max(taken, 1):.1f}%"
                print(f"{label:<10} {workload:<11} {method:<10} {taken or t2:>6} {pct:>9} "
                      f"{'-' if retries is None else retries:>7} {di:>10.1f} {ds:>9.1f}  {fi}", flush=True)
                w = worst.setdefault(method, [0.0, 0.0])
                w[0], w[1] = max(w[0], di), max(w[1], ds)
    for method, (di, ds) in worst.items():
        print(f"# {method}: largest inclusive difference {di:.1f} points, self {ds:.1f} points")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
