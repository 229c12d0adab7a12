#!/usr/bin/env python3
"""Benchmark pyfold collapse against stackcollapse-perf.pl (brendangregg/FlameGraph) on a large perf script.

Usage: STACKCOLLAPSE_PERF_PL=/path/to/stackcollapse-perf.pl tests/bench/collapse_perf.py [--input FILE] [--mb N]
                                                                                        [--runs N]
  --input FILE  a perf script text to measure on (repeatable); without it, the perf fixtures recorded here
                (tests/golden/data/pyfold-collapse/py313-jit.perf and c-fp.perf) repeated to --mb MB [50],
                written once to tests/bench/out/perf-NMB.txt
  --runs N      pyfold-collapse runs; the best is reported [5] (the script: 1 run)
Reports wall time and CPU time (user + system, from the kernel's rusage) of each tool, and their ratios. On a
shared machine the CPU-time ratio is the steadier one. The outputs are compared (Python trampoline frames
rewritten in the script's output as pyfold writes them and re-sorted, as tests/compat/collapse_perf.py does).
Environment: PYFOLD_COLLAPSE [build/src/pyfold-collapse]; STACKCOLLAPSE_PERF_PL unset: pyfold only.
"""
import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(REPO, "tests", "golden", "data", "pyfold-collapse")
PY_FRAME = re.compile(r"^py::([^:]*):(.*?)(_\[j\])?$")


def timed(argv, stdout):
    """(wall s, cpu s) of one run of argv."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=stdout, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def rewrite(line):
    stack, count = line.rsplit(" ", 1)
    frames = [(lambda m: f"{m.group(1)} ({m.group(2)})" if m else f)(PY_FRAME.match(f)) for f in stack.split(";")]
    return ";".join(frames) + " " + count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    collapse = os.environ.get("PYFOLD_COLLAPSE", os.path.join(REPO, "build", "src", "pyfold-collapse"))
    script = os.environ.get("STACKCOLLAPSE_PERF_PL")
    if not os.path.exists(collapse):
        sys.exit(f"bench: no {collapse} (ninja -C build)")
    inputs = args.input
    if not inputs:
        os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
        path = os.path.join(HERE, "out", f"perf-{args.mb}MB.txt")
        if not os.path.exists(path):
            chunk = b"".join(open(os.path.join(DATA, f), "rb").read() for f in ("py313-jit.perf", "c-fp.perf"))
            with open(path, "wb") as f:
                for _ in range(args.mb * 1000000 // len(chunk) + 1):
                    f.write(chunk)
        inputs = [path]
    print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} CPUs, {model}, {platform.system()} {platform.release()}")
    print(f"load:    {os.getloadavg()[0]:.2f} (1 min)")
    for path in inputs:
        size = os.path.getsize(path)
        print(f"\ninput:   {path} ({size / 1e6:.1f} MB)")
        runs = [timed([collapse, "--format", "perf", path], subprocess.DEVNULL) for _ in range(args.runs)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"  pyfold-collapse        wall {wall:8.3f} s   cpu {cpu:8.3f} s   (best of {args.runs})")
        if not script:
            continue
        out = os.path.join(HERE, "out", "script.folded")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            script_wall, script_cpu = timed(["perl", script, path], f)
        print(f"  stackcollapse-perf.pl  wall {script_wall:8.3f} s   cpu {script_cpu:8.3f} s   (1 run)")
        print(f"  ratio                  wall {script_wall / wall:8.1f}x    cpu {script_cpu / cpu:8.1f}x")
        ours = subprocess.run([collapse, "--format", "perf", path], capture_output=True).stdout.decode().splitlines()
        theirs = [rewrite(l) for l in open(out, encoding="utf-8", errors="surrogateescape").read().splitlines()]
        print(f"  outputs                {'the same' if ours == sorted(theirs) else 'DIFFERENT'} ({len(ours)} stacks)")


main()
