# Three threads named by threading (alpha, beta, gamma) that each start, spin in work() and end, one after the other
# and together, while the main thread (MainThread) spins too: for one root per thread from the first sample.
import sys
import time

end_of_imports = time.time() + 0.05
while time.time() < end_of_imports:  # before `import threading`: threading._active does not exist yet
    pass
import threading  # noqa: E402


def work(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(300))


seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
names = ["alpha", "beta", "gamma"]
threads = [threading.Thread(target=work, args=(seconds,), name=n) for n in names]
for t in threads:
    t.start()
    work(0.05)
for t in threads:
    t.join()
