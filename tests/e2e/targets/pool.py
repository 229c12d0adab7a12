# A multiprocessing pool whose workers spend their time in work(); the parent waits. Each task first waits until
# every worker holds one (a barrier), so each worker runs exactly one: on a loaded machine a worker that started
# late could otherwise find the tasks all taken, and never call work() at all.
import multiprocessing
import sys
import time

all_started = None


def join(barrier):
    global all_started
    all_started = barrier


def work(seconds):
    all_started.wait(timeout=60)
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1
    return x


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with multiprocessing.Pool(workers, initializer=join, initargs=(multiprocessing.Barrier(workers),)) as pool:
        pool.map(work, [seconds] * workers)
