# A program that starts a family of processes, each writing its PID to DIR/NAME.pid and waiting in its own function
# until killed (for the checks that nothing of a launched program is left running, tests/e2e/procs_test.py).
#   family.py pool DIR   two multiprocessing children (child_wait), the parent in parent_wait
#   family.py shell DIR  a shell that starts two grandchildren (leaf_wait): one as a background job (SIGINT ignored,
#                        as a non-interactive shell does), one that leaves the group with setsid; and a daemon made
#                        by a double fork with setsid (its parent exits at once: an orphan from its first moment)
#   family.py leaf DIR NAME  one such grandchild
import multiprocessing
import os
import subprocess
import sys
import time


def note(folder, name):
    with open(os.path.join(folder, name + ".pid.tmp"), "w") as f:
        f.write(str(os.getpid()))
    os.rename(os.path.join(folder, name + ".pid.tmp"), os.path.join(folder, name + ".pid"))


def wait_here():
    while True:
        time.sleep(0.02)
        sum(range(1000))


def child_wait(folder, name):
    note(folder, name)
    wait_here()


def leaf_wait(folder, name):
    note(folder, name)
    wait_here()


def parent_wait(folder):
    note(folder, "parent")
    wait_here()


def daemon(folder):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            leaf_wait(folder, "daemon")
        os._exit(0)


if __name__ == "__main__":
    mode, folder = sys.argv[1], sys.argv[2]
    if mode == "pool":
        multiprocessing.set_start_method("fork")
        children = [multiprocessing.Process(target=child_wait, args=(folder, f"child{i}")) for i in range(2)]
        for c in children:
            c.start()
        parent_wait(folder)
    elif mode == "shell":
        me = f"'{sys.executable}' '{os.path.abspath(__file__)}' leaf '{folder}'"
        subprocess.Popen(["sh", "-c", f"{me} background & setsid {me} setsid & wait"])
        daemon(folder)
        parent_wait(folder)
    elif mode == "leaf":
        leaf_wait(folder, sys.argv[3])
