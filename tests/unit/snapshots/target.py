"""The program tests/unit/snapshots/make.sh captures: two threads stopped in known places that are hard for a
walker. The main thread: <module> -> main -> a chain of `yield from` generators -> sorted() (C) calling a key
function, which spins. The second thread, named with a non-ASCII name: Thread._bootstrap ... -> Worker.run -> a
coroutine driven by send() -> spins. It prints "ready" once both spin."""
import sys
import threading

spinning = threading.Semaphore(0)


def spin():
    spinning.release()
    while True:
        pass


def spin_key(value):
    spin()
    return value


def walk(depth):
    if depth == 0:
        yield sorted([3, 1, 2], key=spin_key)
        return
    yield from walk(depth - 1)


def main():
    for value in walk(3):
        print(value)


def consumer():
    while True:
        item = yield
        if item == "go":
            spin()


class Worker(threading.Thread):
    def run(self):
        c = consumer()
        next(c)
        c.send("go")


Worker(name="wörker", daemon=True).start()
threading.Thread(target=lambda: (spinning.acquire(), spinning.acquire(), print("ready", flush=True)), daemon=True).start()
main()
