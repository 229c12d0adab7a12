#!/usr/bin/env python3
"""Compare pyfold collapse with stackcollapse-perf.pl (brendangregg/FlameGraph) on perf script inputs.

Usage:
    STACKCOLLAPSE_PERF_PL=/path/to/stackcollapse-perf.pl collapse_perf.py [PYFOLD_COLLAPSE] [--input FILE]...

Every input (the perf fixtures under tests/golden/data/pyfold-collapse/*.perf, plus --input files) is folded by both
tools with each option set of OPTIONS, and the outputs are compared line for line. The one intended difference:
pyfold writes Python perf trampoline frames `py::qualname:file` as `qualname (file)`, so the same rewrite is applied
to the script's output (and it is sorted again) before comparing (with --jit the script also appends _[j] to those from perf-PID.map, which
pyfold does not do for Python frames; that suffix is dropped too).

The other intended difference: stackcollapse-perf.pl drops the input's last stack when no blank line follows it;
pyfold keeps it. So the script is given the input with a blank line added at the end when it has none (the number of
inputs where that changed the script's output is reported).

Exit status: 0 all cases match, 1 a difference, 2 usage error, 77 STACKCOLLAPSE_PERF_PL is not set (meson's skip).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import tempfile
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
OPTIONS = [[], ["--pid"], ["--tid"], ["--kernel"], ["--jit"], ["--all"], ["--addrs"],
           ["--event-filter", "page-faults"], ["--event-filter", "cpu-clock"]]
PY_FRAME = re.compile(r"^py::([^:]*):(.*?)(_\[j\])?$")


def python_frames(line):
    stack, count = line.rsplit(" ", 1)
    frames = []
    for frame in stack.split(";"):
        m = PY_FRAME.match(frame)
        frames.append(f"{m.group(1)} ({m.group(2)})" if m else frame)
    return ";".join(frames) + " " + count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("collapse", nargs="?", default=os.path.join(REPO, "build", "src", "pyfold-collapse"))
    parser.add_argument("--input", action="append", default=[])
    args = parser.parse_args()
    script = os.environ.get("STACKCOLLAPSE_PERF_PL")
    if not script:
        print("compat: skipped: set STACKCOLLAPSE_PERF_PL=/path/to/stackcollapse-perf.pl")
        return 77
    if not os.path.exists(script) or not os.path.exists(args.collapse):
        print(f"compat: no such file: {script} or {args.collapse}")
        return 2
    inputs = sorted(glob.glob(os.path.join(REPO, "tests", "golden", "data", "pyfold-collapse", "*.perf"))) + args.input
    failures = cases = 0
    last_stack_kept = 0
    work = tempfile.mkdtemp(prefix="pyfold-compat-perf-")
    for path in inputs:
        with open(path, "rb") as f:
            data = f.read()
        script_input = path
        if not data.endswith(b"\n\n"):  # the intended difference: pyfold keeps a last stack without a blank line
            script_input = os.path.join(work, os.path.basename(path))
            with open(script_input, "wb") as f:
                f.write(data + (b"\n" if data.endswith(b"\n") else b"\n\n"))
            plain = subprocess.run(["perl", script, path], capture_output=True).stdout
            if plain != subprocess.run(["perl", script, script_input], capture_output=True).stdout:
                last_stack_kept += 1
        for options in OPTIONS:
            cases += 1
            theirs = subprocess.run(["perl", script, *options, script_input], capture_output=True)
            ours = subprocess.run([args.collapse, "--format", "perf", *options, path], capture_output=True)
            # Both sort their output by bytes; the rewrite of Python frames can change that order, so re-sort.
            expected = sorted(python_frames(l) for l in theirs.stdout.decode("utf-8", "surrogateescape").splitlines())
            actual = ours.stdout.decode("utf-8", "surrogateescape").splitlines()
            label = f"{os.path.basename(path)} {' '.join(options) or 'default'}"
            # An input with no sample of the event: the script prints nothing, pyfold says so and exits 2.
            exit_ok = ours.returncode == 0 or (ours.returncode == 2 and not actual)
            if not options:  # the format guessed from the content gives the same
                guessed = subprocess.run([args.collapse, path], capture_output=True)
                exit_ok = exit_ok and guessed.returncode == ours.returncode and guessed.stdout == ours.stdout
            if not exit_ok or expected != actual:
                failures += 1
                print(f"FAIL {label}: exit {ours.returncode}, {len(actual)} lines against {len(expected)}")
                for a, b in zip(actual, expected):
                    if a != b:
                        print(f"  pyfold: {a[:200]}\n  script: {b[:200]}")
                        break
            else:
                print(f"ok   {label} ({len(actual)} lines)")
    shutil.rmtree(work, ignore_errors=True)
    print(f"compat: {cases - failures} of {cases} cases match ({len(inputs)} inputs; in {last_stack_kept} the script "
          f"dropped the last stack, which had no blank line after it: pyfold keeps it, an intended difference)")
    return 1 if failures else 0


sys.exit(main())
