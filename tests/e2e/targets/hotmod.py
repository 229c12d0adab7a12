# Run as `-m hotmod`: spends its time in hot().
import sys
import time


def hot(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(500))


hot(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
