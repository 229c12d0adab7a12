# Known proportions, hard for a live sampler: fast recursion (fib: a call or return every few hundred nanoseconds)
# for three time units, then one long C call (sorting a big list) for one unit, measured by the clock.
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
    end = time.perf_counter() + total
    while time.perf_counter() < end:
        recursion(0.03)
        c_call(0.01, data)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
