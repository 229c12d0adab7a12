# pyfold top's workload: the main thread calls three_parts and one_part, which do their work through one shared
# helper (loop) in the proportion 3:1, while a thread named "sleepy" sleeps in idle(). Prints READY once both run;
# runs for argv[1] seconds (default: until killed).
import sys
import threading
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


def idle():
    while True:
        time.sleep(0.05)


threading.Thread(target=idle, name="sleepy", daemon=True).start()
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else float("inf")
end = time.time() + seconds
print("READY", flush=True)
while time.time() < end:
    three_parts()
    one_part()
