#!/usr/bin/env python3
"""Cost per sample of pyfold record --async on a program with 1,000 live tasks (async_many_tasks.py): the recorder's
own figure (`us per sample` and reads per sample in its summary) without --async, with --async-mode running and with
--async-mode all, on each interpreter given (3.14+ read from outside). Median of --runs runs each.

Usage: async_bench.py [--runs N] [--tasks N] [--rate HZ] PYTHON...   (PYFOLD_RECORD: default build/src/pyfold-record)"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import parse_folded, total  # noqa: E402
RECORD = os.environ.get("PYFOLD_RECORD", os.path.join(HERE, "..", "..", "build", "src", "pyfold-record"))


def one(python, extra, tasks, rate):
    env = dict(os.environ, ASYNC_TASKS=str(tasks), SECONDS="6")
    r = subprocess.run([RECORD, "--rate", str(rate), "--method", "remote", *extra, "--python", python,
                        os.path.join(HERE, "..", "e2e", "targets", "async_many_tasks.py")], capture_output=True, text=True, env=env)
    m = re.search(r"([\d.]+) us per sample \(([\d.]+) reads\)", r.stderr)
    if not m:
        raise SystemExit(f"no summary: {r.stderr[-600:]}")
    stacks = total(parse_folded(r.stdout, split=False))
    samples = int(re.search(r"(\d+) recorded", r.stderr).group(1))
    return float(m.group(1)), float(m.group(2)), stacks / max(samples, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--rate", type=int, default=100)
    p.add_argument("pythons", nargs="+")
    a = p.parse_args()
    print(f"{a.tasks} live tasks, {a.rate} Hz, median of {a.runs} runs, {os.cpu_count()} CPUs")
    print(f"{'python':<12} {'recording':<26} {'us/sample':>10} {'reads':>7} {'stacks/sample':>14}")
    for python in a.pythons:
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        for label, extra in (("no --async", []), ("--async-mode running", ["--async", "--async-mode", "running"]),
                             ("--async-mode all", ["--async", "--async-mode", "all"])):
            runs = [one(python, extra, a.tasks, a.rate) for _ in range(a.runs)]
            cost = statistics.median(r[0] for r in runs)
            reads = statistics.median(r[1] for r in runs)
            stacks = statistics.median(r[2] for r in runs)
            print(f"{version:<12} {label:<26} {cost:>10.1f} {reads:>7.1f} {stacks:>14.1f}")


if __name__ == "__main__":
    main()
