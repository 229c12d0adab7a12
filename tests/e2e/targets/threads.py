# One thread spinning in spin() (named spinner), one sleeping in sleeper() (named sléepy), the main thread joining both.
import sys
import threading
import time


def spin(seconds):
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1


def sleeper(seconds):
    time.sleep(seconds)


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
threads = [threading.Thread(target=spin, args=(seconds,), name="spinner"),
           threading.Thread(target=sleeper, args=(seconds,), name="sléepy")]
for t in threads:
    t.start()
for t in threads:
    t.join()
