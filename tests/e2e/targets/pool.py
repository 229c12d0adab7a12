# A multiprocessing pool whose workers spend their time in work(); the parent waits.
import multiprocessing
import sys
import time


def work(seconds):
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1
    return x


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with multiprocessing.Pool(workers) as pool:
        pool.map(work, [seconds] * workers)
