#!/usr/bin/env python3
"""pyfold record --native's cost beside plain sampling: the slowdown of raytrace.py (CPU-bound, one thread) at
100 Hz and 1 kHz, as ratios to the bare run (medians of paired runs: each round runs every configuration once, in
turn), and pyfold's own µs per sample (from its summary: with --native, the stop of the thread, the unwind, the
re-read and the release).

Usage: tests/bench/native_bench.py [--runs N] [--size N] [--python PATH] [--pyfold-record PATH]
"""
import argparse
import os
import re
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--size", type=int, default=400, help="image side of raytrace.py")
ap.add_argument("--python", default="python3")
ap.add_argument("--pyfold-record", default=os.path.join(REPO, "build", "src", "pyfold-record"))
args = ap.parse_args()
target = [args.python, os.path.join(HERE, "raytrace.py"), str(args.size)]
record = [args.pyfold_record, "-o", "/dev/null"]
configs = {
    "bare": target,
    "plain 100 Hz": record + ["--rate", "100", "--"] + target,
    "--native 100 Hz": record + ["--native", "--rate", "100", "--"] + target,
    "plain 1 kHz": record + ["--rate", "1000", "--"] + target,
    "--native 1 kHz": record + ["--native", "--rate", "1000", "--"] + target,
}
walls = {name: [] for name in configs}
per_sample = {name: [] for name in configs}
for _ in range(args.runs):
    for name, command in configs.items():
        start = time.perf_counter()
        r = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
        walls[name].append(time.perf_counter() - start)
        m = re.search(r"([\d.]+) us per sample", r.stderr)
        if m:
            per_sample[name].append(float(m.group(1)))
bare = statistics.median(walls["bare"])
print(f"raytrace.py {args.size}, {args.python}, medians of {args.runs} paired runs")
print("| configuration | median wall s | slowdown vs bare | pyfold µs per sample |")
print("|---|---|---|---|")
for name in configs:
    wall = statistics.median(walls[name])
    us = f"{statistics.median(per_sample[name]):.1f}" if per_sample[name] else ""
    print(f"| {name} | {wall:.2f} | {wall / bare:.2f}x | {us} |")
