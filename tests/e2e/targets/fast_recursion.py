# Known proportions, hard for a live sampler: fast recursion (fib: a call or return every few hundred nanoseconds)
# for three time units, then one long C call (sorting a big list) for one unit, measured by the clock. On a busy
# machine a phase overruns its unit by however long the program was preempted at its end, so the program measures
# the time each part really took and prints it on stderr: that is the truth a wall-clock sampler must match.
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def recursion(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        fib(15)


def c_call(seconds, data):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sorted(data)  # under a millisecond inside C per call


def main(total):
    data = [(i * 7919) % 1000003 for i in range(10000)]
    spent = {"recursion": 0.0, "c_call": 0.0}
    end = time.perf_counter() + total
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        recursion(0.03)
        t1 = time.perf_counter()
        c_call(0.01, data)
        spent["recursion"] += t1 - t0
        spent["c_call"] += time.perf_counter() - t1
    print(f"fast_recursion: recursion {spent['recursion']:.6f} s, c_call {spent['c_call']:.6f} s", file=sys.stderr)


if __name__ == "__main__":  # (accuracy_workloads.py imports its functions)
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
