# Three threads start and join short busy threads until the program ends, with them still running (daemon threads):
# the program's exit (exit_group) comes while a sampler may be stopping its threads.
import random
import sys
import threading
import time


def work():
    end = time.perf_counter() + random.uniform(0.0005, 0.004)
    while time.perf_counter() < end:
        pass


def spawner():
    while True:
        threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


for _ in range(3):
    threading.Thread(target=spawner, daemon=True).start()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0.3)
