# Recursion 5,000 deep, then a spin at the bottom.
import sys
import time

sys.setrecursionlimit(20000)


def down(n, seconds):
    if n == 0:
        end = time.time() + seconds
        while time.time() < end:
            pass
        return 0
    return down(n - 1, seconds) + 1


down(5000, float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
