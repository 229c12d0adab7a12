# A small pure-Python ray tracer (CPU-bound, about 10 frames deep) for pyfold record's benchmark.
import math
import sys


class Vec:
    __slots__ = ("x", "y", "z")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z

    def add(self, o):
        return Vec(self.x + o.x, self.y + o.y, self.z + o.z)

    def sub(self, o):
        return Vec(self.x - o.x, self.y - o.y, self.z - o.z)

    def mul(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z

    def norm(self):
        return self.mul(1.0 / math.sqrt(self.dot(self)))


class Sphere:
    def __init__(self, center, radius, color):
        self.center, self.radius, self.color = center, radius, color

    def hit(self, origin, direction):
        oc = origin.sub(self.center)
        b = oc.dot(direction)
        c = oc.dot(oc) - self.radius * self.radius
        disc = b * b - c
        if disc < 0:
            return None
        t = -b - math.sqrt(disc)
        return t if t > 1e-4 else None


SCENE = [Sphere(Vec(0, -1000, 0), 999, 0.5), Sphere(Vec(0, 0, 5), 1, 0.9), Sphere(Vec(2, 0, 6), 1, 0.7),
         Sphere(Vec(-2, 0, 6), 1, 0.3)]
LIGHT = Vec(-1, -1, -1).norm().mul(-1)


def closest(origin, direction):
    best, best_t = None, 1e9
    for s in SCENE:
        t = s.hit(origin, direction)
        if t is not None and t < best_t:
            best, best_t = s, t
    return best, best_t


def shade(origin, direction, depth):
    sphere, t = closest(origin, direction)
    if sphere is None:
        return 0.1
    point = origin.add(direction.mul(t))
    normal = point.sub(sphere.center).norm()
    light = max(0.0, normal.dot(LIGHT)) * sphere.color
    if depth < 2:
        reflected = direction.sub(normal.mul(2 * direction.dot(normal)))
        light += 0.3 * shade(point, reflected.norm(), depth + 1)
    return light


def render(width, height):
    eye = Vec(0, 0, 0)
    total = 0.0
    for j in range(height):
        for i in range(width):
            d = Vec((i - width / 2) / width, (j - height / 2) / height, 1).norm()
            total += shade(eye, d, 0)
    return total


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print(round(render(size, size), 3))
