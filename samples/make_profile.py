"""Profile a Python script in-process and write folded stacks (py-spy's frame text), root first.

Usage: python3 make_profile.py OUT.folded SCRIPT [ARGS...]
This is how samples/app.folded was made (see samples/README.md); pyfold's own recorder replaces it.
A CPU-time timer (ITIMER_PROF, 1 ms) interrupts the main thread; each sample is the interrupted stack,
frames written as "function (filename:line)".
"""
import collections
import os
import runpy
import signal
import sys


def main():
    out_path, script, args = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3:]
    counts = collections.Counter()
    here = os.path.abspath(__file__)

    def sample(signum, frame):
        stack = []
        while frame is not None:
            code = frame.f_code
            if code.co_filename != here and "runpy" not in code.co_filename:
                stack.append(f"{code.co_name} ({code.co_filename}:{frame.f_lineno})")
            frame = frame.f_back
        if stack:
            counts[";".join(reversed(stack))] += 1

    signal.signal(signal.SIGPROF, sample)
    signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
    sys.argv = [script] + args
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
    with open(out_path, "w", encoding="utf-8") as out:
        for stack, count in sorted(counts.items()):
            out.write(f"{stack} {count}\n")


main()
