# The many-thread program of thread_names_bench.py: 40 named threads waiting 12 frames deep (woken every 5 ms),
# and the main thread starting and joining a short named thread every CHURN_MS milliseconds (argument, default 10;
# 0: none, the main thread waits); prints READY once all run.
import sys
import threading
import time

churn = float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.01


def deep(n, stop):
    if n:
        return deep(n - 1, stop)
    while not stop.wait(0.005):
        pass


def short():
    time.sleep(0.001)


stop = threading.Event()
workers = [threading.Thread(target=deep, args=(12, stop), name=f"worker-{i}", daemon=True) for i in range(40)]
for w in workers:
    w.start()
print("READY", flush=True)
if not churn:
    stop.wait()
n = 0
while True:
    t = threading.Thread(target=short, name=f"short-{n}")
    t.start()
    t.join()
    n += 1
    time.sleep(churn)
