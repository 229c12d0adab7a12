# Starts and joins short threads for the given seconds: the main thread is inside threading's own lock (Thread.start,
# join) much of the time, where a sampler that runs in the program (a signal handler) must not take that lock.
import sys
import threading
import time


def nothing():
    pass


end = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
n = 0
while time.time() < end:
    t = threading.Thread(target=nothing, name="churn-%d" % n)
    t.start()
    t.join()
    n += 1
print("threads started:", n, file=sys.stderr)
