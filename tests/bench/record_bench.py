#!/usr/bin/env python3
"""pyfold record's cost: the slowdown of a CPU-bound program (raytrace.py) under pyfold record at 100 Hz and 1 kHz
(default method, --nonblocking, in-process) and under `python -m cProfile`, as ratios to the bare run (medians of
paired runs); the default method's floor (a 1 kHz wake on the program's CPU that reads nothing:
the build's tests/bench/wake-on-cpu); and pyfold's own cost per sample (on the ray tracer, and on a 10-frame one-thread
stack: ten_frames.py).

Usage: tests/bench/record_bench.py [--runs N] [--size N] [--python PATH] [--pyfold-record PATH]
                                   [--austin PATH] [--py-spy PATH] [--native] [--cpu N]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(REPO, "tests", "e2e", "targets")  # the programs, shared with the e2e tests

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--size", type=int, default=500, help="image side; 500 takes a few seconds")
ap.add_argument("--python", default="python3")
ap.add_argument("--pyfold-record", default=os.path.join(REPO, "build", "src", "pyfold-record"))
ap.add_argument("--austin")
ap.add_argument("--py-spy")
ap.add_argument("--native", action="store_true", help="also --native at 100 Hz and 1 kHz")
ap.add_argument("--cpu", type=int, default=0,
                help="run the program on this CPU only (-1: anywhere). Virtual machines' CPUs can differ in speed "
                     "from one minute to the next, and a program the scheduler moves between them times that")
args = ap.parse_args()
pin = ["taskset", "-c", str(args.cpu)] if args.cpu >= 0 else []
target = pin + [args.python, os.path.join(TARGETS, "raytrace.py"), str(args.size)]
record = [args.pyfold_record, "-o", "/dev/null"]

configs = {
    "bare": target,
    "pyfold 100 Hz": record + ["--rate", "100", "--"] + target,
    "pyfold 1 kHz": record + ["--rate", "1000", "--"] + target,
    "pyfold 1k nonblk": record + ["--rate", "1000", "--nonblocking", "--"] + target,
    # (in-process: pyfold starts the interpreter itself, so it runs pinned with it)
    "pyfold inproc 1k": pin + record + ["--rate", "1000", "--method", "inprocess", "--python", args.python] + target[-2:],
    "cProfile": pin + [args.python, "-m", "cProfile", "-o", "/dev/null"] + target[-2:],
}
# The floor of the default method: it reads while the program is off its CPU, so each sample takes that CPU for a
# moment. wake-on-cpu does only that: a 1 kHz wake on the program's CPU that reads nothing.
# (beside the pyfold-record measured: BUILD/src/pyfold-record, BUILD/tests/bench/wake-on-cpu)
wake = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.pyfold_record))), "tests", "bench", "wake-on-cpu")
if args.cpu >= 0 and os.path.exists(wake):
    configs["1 kHz wake only"] = [wake, str(args.cpu), "1000", "--"] + target[len(pin):]
if args.native:  # each sample: the thread stopped, unwound, its Python frames read again, let go
    configs["--native 100 Hz"] = record + ["--native", "--rate", "100", "--"] + target
    configs["--native 1 kHz"] = record + ["--native", "--rate", "1000", "--"] + target
if args.austin:
    configs["austin 1 kHz"] = [args.austin, "-i", "1ms", "-o", "/dev/null"] + target
if args.py_spy:
    configs["py-spy 1 kHz"] = [args.py_spy, "record", "--nonblocking", "-r", "1000", "-f", "raw", "-o", "/dev/null",
                               "--"] + target

times = {name: [] for name in configs}
per_sample = {name: [] for name in configs}
for run in range(args.runs):
    for name, command in configs.items():  # paired: every configuration once per round
        start = time.perf_counter()
        r = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if r.returncode != 0:
            sys.exit(f"{name} failed: {r.stderr}")
        times[name].append(elapsed)
        m = re.search(r"([\d.]+) us per sample", r.stderr)
        if m:
            per_sample[name].append(float(m.group(1)))
    print(f"round {run + 1}/{args.runs} done", file=sys.stderr)

# The recorder's own cost on a 10-frame, one-thread stack (median of the runs' "us per sample").
ten = []
for run in range(args.runs):
    r = subprocess.run(record + ["--"] + pin + [args.python, os.path.join(TARGETS, "ten_frames.py"),
                        "2"], capture_output=True, text=True)
    m = re.search(r"([\d.]+) us per sample \(([\d.]+) reads\)", r.stderr)
    if m:
        ten.append((float(m.group(1)), float(m.group(2))))

bare = statistics.median(times["bare"])
where = f"on CPU {args.cpu}" if args.cpu >= 0 else "on any CPU"
print(f"{os.uname().nodename}: {os.cpu_count()} CPUs, {args.python} raytrace.py {args.size} {where}, {args.runs} paired runs")
print(f"{'configuration':16} {'median s':>9} {'slowdown':>9} {'us/sample':>10}")
for name in configs:
    ratios = [t / b for t, b in zip(times[name], times["bare"])]
    cost = f"{statistics.median(per_sample[name]):10.1f}" if per_sample[name] else f"{'':10}"
    print(f"{name:16} {statistics.median(times[name]):9.2f} {statistics.median(ratios):8.3f}x {cost}")
if ten:
    print(f"pyfold record, 10-frame one-thread stack at 1 kHz: {statistics.median(t for t, _ in ten):.1f} us per sample, "
          f"{statistics.median(r for _, r in ten):.1f} reads per sample")
