# Threads that start, end and reuse idents and stacks (issue 23 part 4): 50 threads started and joined one after
# another, each named by the program (half at construction, half renamed once running), then a ThreadPoolExecutor
# with thread_name_prefix. Each thread writes "NATIVE_ID NAME" to the file given once its name is final, so a test
# can tell which name each thread root must carry. Every thread spins a little so that it is sampled.
# Usage: named_thread_churn.py OUT_FILE [SPIN_SECONDS]
import concurrent.futures
import sys
import threading
import time

out_path = sys.argv[1]
spin = float(sys.argv[2]) if len(sys.argv) > 2 else 0.04
lines = []
lock = threading.Lock()


def note():
    t = threading.current_thread()
    with lock:
        lines.append("%d %s" % (threading.get_native_id(), t.name))


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def worker(i, rename):
    if rename:  # Python renames the thread after it started: the new name is the one it has from here on
        threading.current_thread().name = "renamed-%d" % i
    note()
    busy(spin)


def task(i):
    note()
    busy(spin)
    return i


note()
busy(spin)
for i in range(50):
    t = threading.Thread(target=worker, args=(i, i % 2 == 1), name="churn-%d" % i)
    t.start()
    t.join()
with concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="poolw") as pool:
    list(pool.map(task, range(16)))
busy(spin)
with open(out_path, "w") as f:
    f.write("\n".join(lines) + "\n")
