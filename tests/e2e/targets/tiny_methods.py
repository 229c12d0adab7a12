# Many tiny methods on small objects, a call every 50-100 ns: reading a thread while it runs on another CPU moves
# time between a function and the one that runs next to it (a loop's own time into its last callee). pyfold's
# default method must give the same shares as --blocking here. Usage: tiny_methods.py SECONDS
import sys
import time


class Vec:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z

    def add(self, o):
        return Vec(self.x + o.x, self.y + o.y, self.z + o.z)

    def scale(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z


def step(points):
    acc = Vec(0.0, 0.0, 0.0)
    for p in points:
        acc = acc.add(p.scale(0.5))
    return acc.dot(acc)


def main(seconds):
    points = [Vec(i, i * 0.5, -i) for i in range(1000)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        step(points)


if __name__ == "__main__":  # (accuracy_workloads.py imports its functions)
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
