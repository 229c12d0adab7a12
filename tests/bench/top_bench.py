#!/usr/bin/env python3
"""pyfold top's cost against pyfold record's at the same rate: the wall time of a CPU-bound program (raytrace.py)
bare, under `pyfold record`, under `pyfold top` printing a plain table every second (piped), and under `pyfold top`
drawing its full-screen view on a pseudo-terminal (what a user sees; the screen read and thrown away), as ratios to
the bare run (medians of paired runs); and the CPU time of pyfold and the program together (wait4's rusage of the
command, which counts the program pyfold reaps), pyfold's share being what exceeds the bare run's.

Usage: tests/bench/top_bench.py [--runs N] [--size N] [--rate HZ] [--python PATH] [--cpu N] [--build DIR]
"""
import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(REPO, "tests", "e2e", "targets")

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--size", type=int, default=500, help="image side; 500 takes a few seconds")
ap.add_argument("--rate", type=int, default=1000)
ap.add_argument("--python", default="python3")
ap.add_argument("--build", default=os.path.join(REPO, "build"))
ap.add_argument("--cpu", type=int, default=0, help="run the program on this CPU only (-1: anywhere)")
args = ap.parse_args()
pin = ["taskset", "-c", str(args.cpu)] if args.cpu >= 0 else []
target = pin + [args.python, os.path.join(TARGETS, "raytrace.py"), str(args.size)]
record = os.path.join(args.build, "src", "pyfold-record")
top = os.path.join(args.build, "src", "pyfold-top")
rate = ["--rate", str(args.rate)]

configs = {
    "bare": (target, False),
    "record": ([record, "-q", "-o", "/dev/null"] + rate + ["--"] + target, False),
    "top, piped": ([top] + rate + ["--"] + target, False),
    "top, screen": ([top] + rate + ["--"] + target, True),
}


def run(command, on_pty):
    """(wall seconds, CPU seconds of the command and what it reaped)."""
    start = time.perf_counter()
    if on_pty:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        env = dict(os.environ, TERM="xterm-256color")
        p = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
                             preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)

        def drain():
            try:
                while os.read(master, 65536):
                    pass
            except OSError:
                pass
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
    else:
        p = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if on_pty:
        os.close(master)
    if p.returncode != 0:
        sys.exit(f"{command} failed: {p.returncode}")
    return elapsed, usage.ru_utime + usage.ru_stime


times = {name: [] for name in configs}
cpu = {name: [] for name in configs}
for round_ in range(args.runs):
    for name, (command, on_pty) in configs.items():  # paired: every configuration once per round
        elapsed, used = run(command, on_pty)
        times[name].append(elapsed)
        cpu[name].append(used)
    print(f"round {round_ + 1}/{args.runs} done", file=sys.stderr)

where = f"on CPU {args.cpu}" if args.cpu >= 0 else "on any CPU"
print(f"{os.uname().nodename}: {os.cpu_count()} CPUs, {args.python} raytrace.py {args.size} {where}, {args.rate} Hz, "
      f"{args.runs} paired runs")
print(f"{'configuration':14} {'median s':>9} {'slowdown':>9} {'CPU s':>7} {'pyfold CPU s':>13}")
for name in configs:
    ratios = [t / b for t, b in zip(times[name], times["bare"])]
    extra = [c - b for c, b in zip(cpu[name], cpu["bare"])]
    print(f"{name:14} {statistics.median(times[name]):9.2f} {statistics.median(ratios):8.3f}x "
          f"{statistics.median(cpu[name]):7.2f} {statistics.median(extra):13.2f}")
