# Sleeps in nap() until killed (for attaching with --pid and pyfold dump); prints READY once running.
import sys
import time


def nap():
    while True:
        time.sleep(0.01)
        sum(range(2000))


print("READY", flush=True)
nap()
