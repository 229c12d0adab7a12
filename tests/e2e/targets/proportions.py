# Two functions doing the same loop, called 3:1: a sampler should give three_parts 75% of the samples.
import sys
import time


def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


def three_parts():
    return loop(30000)


def one_part():
    return loop(10000)


def main(seconds):
    end = time.time() + seconds
    while time.time() < end:
        three_parts()
        one_part()


main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
