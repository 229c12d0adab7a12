#!/usr/bin/env python3
"""pyfold record against CPython 3.15's own sampling profiler (`python3.15 -m profiling.sampling run`) on the same
workloads at the same rate: the inclusive share of each top function among the samples taken while the workload runs
(against the ground truth, pyfold record --blocking: the target stopped during each read), and the target's slowdown
(its own timing of its work, so neither profiler's start-up or write-out counts), as medians of paired runs against
the bare program (min-max beside: a wide spread says the machine was busy); "cpu x": the same for the target's own
CPU time, which a busy machine disturbs less; "prof. cpu": the profiler's own CPU time per second of the target's
work, in % of one core (what it takes from the target on a machine with no free core).

Workloads (written to a temporary directory): a recursive fib, many small method calls, generator pipelines; each
has two or three top-level functions of different weights, whose inclusive shares are compared.

Usage: tests/bench/vs_cpython_sampler.py [--runs N] [--rate HZ] [--python PATH] [--pyfold-record PATH]
                                         [--workload NAME]...
--python defaults to the python3.15 of tests/pythons/fetch.sh.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from harness import parse_folded, split_frame  # noqa: E402

# Each workload times its own work (after imports) and writes its wall and CPU seconds to $BENCH_TIME_FILE.
PRELUDE = '''
import os, time
_start, _cpu = time.perf_counter(), time.process_time()
def _done():
    with open(os.environ["BENCH_TIME_FILE"], "w") as f:
        f.write("%r %r" % (time.perf_counter() - _start, time.process_time() - _cpu))
'''
WORKLOADS = {
    "fib": PRELUDE + '''
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def big():
    for _ in range(3):
        fib(27)

def small():
    fib(27)

for _ in range(24):
    big()
    small()
_done()
''',
    "methods": PRELUDE + '''
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y
    def add(self, other):
        return Point(self.x + other.x, self.y + other.y)
    def norm1(self):
        return abs(self.x) + abs(self.y)

class Walker:
    def __init__(self):
        self.at = Point(0, 0)
    def step(self, d):
        self.at = self.at.add(d)
        return self.at.norm1()

def walk(n):
    w, d, total = Walker(), Point(1, -1), 0
    for _ in range(n):
        total += w.step(d)
    return total

def heavy():
    return walk(900000)

def light():
    return walk(300000)

for _ in range(3):
    heavy()
    light()
_done()
''',
    "generators": PRELUDE + '''
def numbers(n):
    for i in range(n):
        yield i

def squares(it):
    for x in it:
        yield x * x

def evens(it):
    yield from (x for x in it if x % 2 == 0)

def pipeline(n):
    return sum(evens(squares(numbers(n))))

def wide():
    return pipeline(3600000)

def narrow():
    return pipeline(1200000)

for _ in range(3):
    wide()
    narrow()
_done()
''',
}
# The functions whose inclusive shares are compared, per workload.
TOP = {"fib": ["big", "small", "fib"], "methods": ["heavy", "light", "Walker.step", "Point.add"],
       "generators": ["wide", "narrow", "pipeline", "squares", "evens"]}


def default_python():
    r = subprocess.run(["bash", os.path.join(REPO, "tests", "pythons", "fetch.sh"), "--where"], capture_output=True,
                       text=True)
    return os.path.join(r.stdout.strip(), "python3.15")


def frames_of(frame_texts):
    """(function, file) of each frame of a folded stack from either tool: pyfold `QUALNAME (FILE:LINE)`, the sampler
    `FILE:QUALNAME:LINE` under a `tid:N` root."""
    frames = []
    for frame in frame_texts:
        if frame.startswith("tid:") or frame.startswith("thread ("):
            continue
        name, file, _ = split_frame(frame)
        if file:
            frames.append((name, file))
        elif frame.count(":") >= 2:
            where, name, _ = frame.rsplit(":", 2)
            frames.append((name, where))
        else:
            frames.append((frame, ""))
    return frames


def shares(folded_text, functions, script):
    """{function: share of the samples whose stack contains it} (inclusive), and the number of samples. Only samples
    taken while the workload's own module runs count: pyfold samples the interpreter from its start, the sampler from
    when its runner starts the script, and neither start-up nor shutdown is the workload's."""
    total, hits = 0, dict.fromkeys(functions, 0)
    base = os.path.basename(script)
    for frame_texts, count in parse_folded(folded_text, split=False, number=float, written=True):
        count = int(count)
        frames = frames_of(frame_texts)
        if not any(os.path.basename(f) == base for _, f in frames):
            continue
        total += count
        names = {n for n, _ in frames}
        for f in functions:
            if f in names:
                hits[f] += count
    return {f: hits[f] / total if total else 0.0 for f in functions}, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--python", default=None)
    ap.add_argument("--pyfold-record", default=os.path.join(REPO, "build", "src", "pyfold-record"))
    ap.add_argument("--workload", action="append", choices=sorted(WORKLOADS))
    args = ap.parse_args()
    python = args.python or default_python()
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                             text=True).stdout.strip()
    if not version.startswith("3.15"):
        sys.exit(f"vs_cpython_sampler.py: {python} is not a CPython 3.15 ({version or 'does not run'}); "
                 "run tests/pythons/fetch.sh or pass --python")
    tmp = tempfile.mkdtemp(prefix="pyfold-vs-sampler-")
    print(f"{os.uname().nodename}: {os.cpu_count()} CPUs; CPython {version} ({python}); {args.rate} Hz; "
          f"{args.runs} paired runs; shares: samples summed over the runs")
    for name in args.workload or list(WORKLOADS):
        script = os.path.join(tmp, f"{name}.py")
        with open(script, "w") as f:
            f.write(WORKLOADS[name])
        out = os.path.join(tmp, f"{name}.folded")
        configs = {
            "bare": [python, script],
            "pyfold": [args.pyfold_record, "--rate", str(args.rate), "-o", out, "--", python, script],
            "pyfold --blocking": [args.pyfold_record, "--blocking", "--rate", str(args.rate), "-o", out, "--",
                                  python, script],
            "profiling.sampling": [python, "-m", "profiling.sampling", "run", "-r", f"{args.rate}hz", "--collapsed",
                                   "-o", out, script],
        }
        times = {c: [] for c in configs}
        cpu = {c: [] for c in configs}    # the target's own CPU seconds for its work
        other = {c: [] for c in configs}  # CPU seconds of everything else the command ran (profiler, start-up)
        folded = {c: "" for c in configs}
        for run in range(args.runs):
            for config, command in configs.items():  # paired: each configuration once per round
                timing = os.path.join(tmp, "time")
                before = os.times()
                r = subprocess.run(command, capture_output=True, text=True,
                                   env=dict(os.environ, BENCH_TIME_FILE=timing))
                after = os.times()
                if r.returncode != 0:
                    sys.exit(f"{name} / {config} failed (exit {r.returncode}): {r.stderr[-800:]}")
                wall, target_cpu = (float(x) for x in open(timing).read().split())
                times[config].append(wall)
                cpu[config].append(target_cpu)
                children = (after.children_user - before.children_user) + (after.children_system -
                                                                            before.children_system)
                other[config].append(children - target_cpu)
                if config != "bare":
                    folded[config] += open(out).read()
            print(f"{name}: round {run + 1}/{args.runs}", file=sys.stderr)
        bare = statistics.median(times["bare"])
        bare_other = statistics.median(other["bare"])  # the target's own start-up and shutdown
        truth, _ = shares(folded["pyfold --blocking"], TOP[name], script)
        print(f"\n{name}: bare {bare:.2f} s (median)")
        print(f"  {'profiler':20} {'slowdown (min-max)':>20} {'cpu x':>6} {'prof. cpu':>9} {'samples':>8}  " +
              "  ".join(f"{f[:14]:>14}" for f in TOP[name]) + "  max |err| vs --blocking")
        for config in ("pyfold --blocking", "pyfold", "profiling.sampling"):
            ratios = [t / b for t, b in zip(times[config], times["bare"])]
            ratio = statistics.median(ratios)
            got, total = shares(folded[config], TOP[name], script)
            err = max(abs(got[f] - truth[f]) for f in TOP[name]) * 100
            spread = f"{ratio:.3f}x ({min(ratios):.2f}-{max(ratios):.2f})"
            cpu_ratio = statistics.median(c / b for c, b in zip(cpu[config], cpu["bare"]))
            # The profiler's own CPU time per second of the target's work (% of one core).
            load = statistics.median((o - bare_other) / w for o, w in zip(other[config], times[config])) * 100
            print(f"  {config:20} {spread:>20} {cpu_ratio:5.3f}x {load:8.1f}% {total:8d}  " +
                  "  ".join(f"{got[f] * 100:13.1f}%" for f in TOP[name]) +
                  (f"  {err:5.1f} points" if config != "pyfold --blocking" else "  (ground truth)"))
    subprocess.run(["rm", "-rf", tmp])


main()
