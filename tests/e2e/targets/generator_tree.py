# Recursive `yield from` generators and coroutines driven by send(): a live read often finds a generator's frame
# just after it yielded, without its caller; such a walk must never be written as if it were a whole stack.
import sys
import time


def tree(depth):
    return None if depth == 0 else (tree(depth - 1), depth, tree(depth - 1))


def walk(node):
    if node is None:
        return
    left, value, right = node
    yield from walk(left)
    yield value
    yield from walk(right)


def stage(target):
    while True:
        target.send((yield) + 1)


def sink(box):
    while True:
        box[0] += yield


def main(seconds):
    t = tree(10)
    end = time.time() + seconds
    while time.time() < end:
        sum(walk(t))
        box = [0]
        head = sink(box)
        next(head)
        for _ in range(4):
            head = stage(head)
            next(head)
        for i in range(2000):
            head.send(i)


if __name__ == "__main__":  # (accuracy_workloads.py imports its functions)
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
