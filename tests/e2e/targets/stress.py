# Hostile lives for a sampled program: `stress.py CASE [ARG]`.
#   churn N         starts and ends N short threads, a few at a time
#   forkexec        forks and execs a non-Python program (and runs one through subprocess), then works
#   execpython PY   works, then replaces itself with another Python interpreter PY running hotmod.py
#   mainexits       the main thread returns while a worker thread keeps working
#   threadexit N    a worker thread calls os._exit(N) while the main thread works
import os
import subprocess
import sys
import threading
import time


def work(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(500))


def short_life(i):
    total = 0
    for k in range(2000):
        total += k * i
    return total


def churn(n):
    alive = []
    for i in range(n):
        t = threading.Thread(target=short_life, args=(i,))
        t.start()
        alive.append(t)
        if len(alive) >= 8:
            for t in alive:
                t.join()
            alive = []
    for t in alive:
        t.join()


def forkexec():
    pid = os.fork()
    if pid == 0:
        os.execv("/bin/sleep", ["/bin/sleep", "0.3"])
    subprocess.run(["/bin/true"], check=True)
    work(0.5)
    os.waitpid(pid, 0)


def execpython(python):
    work(0.5)
    here = os.path.dirname(os.path.abspath(__file__))
    os.execv(python, [python, os.path.join(here, "hotmod.py"), "0.5"])


def worker_then_exit(code):
    work(0.5)
    os._exit(code)


def main():
    case = sys.argv[1]
    if case == "churn":
        churn(int(sys.argv[2]))
    elif case == "forkexec":
        forkexec()
    elif case == "execpython":
        execpython(sys.argv[2])
    elif case == "mainexits":
        threading.Thread(target=work, args=(1.0,)).start()
    elif case == "threadexit":
        threading.Thread(target=worker_then_exit, args=(int(sys.argv[2]),)).start()
        work(10)


main()
