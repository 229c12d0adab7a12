#!/usr/bin/env python3
"""The cost of thread names per sample: pyfold record --threads --nonblocking attached (--pid) to a many-thread
program (tests/bench/many_threads.py: 40 named threads waiting 12 frames deep, and the main thread starting and
joining a short named thread every --churn-ms milliseconds, default 10, 0 for none), on each interpreter; pyfold's own CPU time (user + system, from wait4:
attached, it has no child) divided by the samples it took, and the reads per sample it reports. --nonblocking: the
default method stops the program for the samples whose GIL holder ran on another CPU (ptrace of every thread), whose
share varies from run to run with the scheduling and would drown what naming costs; --stops keeps them. With
--before PATH (an older pyfold-record), each round runs both on the same program in turn, A B A B, and the ratio
after/before is taken pair by pair; medians over the rounds.

Usage: tests/bench/thread_names_bench.py [--rounds N] [--seconds S] [--rate HZ] [--before PATH] [--stops] [--churn-ms MS]
                                         [--pyfold-record PATH] [--python PATH ...]
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
sys.path.insert(0, os.path.join(REPO, "tests", "pythons"))
import pythons  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--seconds", type=float, default=2.0)
ap.add_argument("--rate", type=int, default=200)
ap.add_argument("--before", help="an older pyfold-record to compare with")
ap.add_argument("--stops", action="store_true", help="the default method (stops included), not --nonblocking")
ap.add_argument("--churn-ms", type=float, default=10, help="a short thread every this many ms (0: none)")
ap.add_argument("--pyfold-record", default=os.path.join(REPO, "build", "src", "pyfold-record"))
ap.add_argument("--python", action="append", help="interpreters (default: every one tests/pythons finds)")
args = ap.parse_args()

SAMPLES = re.compile(r"pyfold-record: (\d+) samples in")
READS = re.compile(r"per sample \(([0-9.]+) reads\)")


def cpu_per_sample(record, pid):
    """(pyfold's CPU seconds per sample, reads per sample), attached to pid for --seconds."""
    p = subprocess.Popen([record, "--pid", str(pid), "--threads", "--rate", str(args.rate), "-d", str(args.seconds),
                          "-o", "/dev/null"] + ([] if args.stops else ["--nonblocking"]),
                         stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    m, reads = SAMPLES.search(err), READS.search(err)
    if status != 0 or not m or int(m.group(1)) == 0 or not reads:
        raise SystemExit(f"{record}: no samples ({status}): {err}")
    return (usage.ru_utime + usage.ru_stime) / int(m.group(1)), float(reads.group(1))


if args.python:
    found = [(os.path.basename(p), p) for p in args.python]
else:
    found = [(p.label, p.path) for p in pythons.find()]
print(f"# {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, {args.rounds} rounds of {args.seconds} s at "
      f"{args.rate} Hz, pyfold record --threads --pid{'' if args.stops else ' --nonblocking'}, 41 threads" +
      (f" + one started every {args.churn_ms:g} ms" if args.churn_ms else ""))
print(f"{'python':20s} {'ms/sample':>10s} {'reads':>6s}" +
      (f" {'before ms':>10s} {'reads':>6s} {'after/before':>13s}" if args.before else ""))
for label, python in found:
    program = subprocess.Popen([python, os.path.join(HERE, "many_threads.py"), str(args.churn_ms)],
                               stdout=subprocess.PIPE)
    try:
        assert program.stdout.readline().strip() == b"READY"
        after, before, ratios = [], [], []
        for _ in range(args.rounds):
            a = cpu_per_sample(args.pyfold_record, program.pid)
            after.append(a)
            if args.before:
                b = cpu_per_sample(args.before, program.pid)
                before.append(b)
                ratios.append(a[0] / b[0])
        line = (f"{label:20s} {1e3 * statistics.median(x[0] for x in after):10.3f} "
                f"{statistics.median(x[1] for x in after):6.1f}")
        if args.before:
            line += (f" {1e3 * statistics.median(x[0] for x in before):10.3f} "
                     f"{statistics.median(x[1] for x in before):6.1f} {statistics.median(ratios):13.3f}")
        print(line, flush=True)
    finally:
        program.kill()
        program.wait()
