# A target with known nesting for pyfold record's end-to-end tests: <module>;main;outer;inner, a method, a
# non-ASCII name, a lambda called from sorted() (C -> Python re-entry), a generator, and a class's __init__ (which
# 3.13+ calls through a frame of the interpreter's own, never shown).
import sys
import time


def inner(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def outer(n):
    return inner(n)


class Worker:
    def run(self, n):
        return inner(n)


class Made:
    def __init__(self, n):
        self.total = inner(n)


def calculé(n):
    return inner(n)


def gen(n):
    for _ in range(3):
        yield inner(n)


def via_sorted(n):
    return sorted(range(3), key=lambda k: inner(n))


def main(seconds):
    end = time.time() + seconds
    while time.time() < end:
        outer(20000)
        Worker().run(5000)
        Made(5000)
        calculé(5000)
        sum(gen(2000))
        via_sorted(2000)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
