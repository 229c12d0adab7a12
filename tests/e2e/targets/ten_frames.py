# One thread, ten Python frames deep, spinning at the bottom: the stack of pyfold record's per-sample cost figure.
import sys
import time


def level(n, seconds):
    if n == 1:
        end = time.time() + seconds
        while time.time() < end:
            pass
        return
    level(n - 1, seconds)


level(9, float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)  # <module> + 9 levels = 10 frames
