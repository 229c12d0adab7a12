# Sleeps in nap() until killed (for attaching with --pid and pyfold dump); prints READY once in nap(), so a reader
# started on READY finds nap() on the stack.
import sys
import time


def nap():
    print("READY", flush=True)
    while True:
        time.sleep(0.01)
        sum(range(2000))


nap()
