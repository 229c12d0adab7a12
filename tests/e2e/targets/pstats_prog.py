# For e2e-pstats (run by every writer on Python 2.7 to 3.15; the chains it checks name these lines)
import json, decimal, email.mime.text, xml.dom.minidom
import importlib


def shared(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def light():
    return shared(2000)


def heavy():
    return shared(8000)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def ping(n):
    return pong(n - 1) + 1 if n > 0 else 0


def pong(n):
    return ping(n - 1) + shared(50) if n > 0 else 0


def squares(n):
    for i in range(n):
        yield i * i


def consume():
    return sum(squares(6000)) + sum(x for x in squares(2000))


def dynamic():
    ns = {}
    exec("def made(n):\n    return sum(range(n))\n", ns)
    return ns["made"](20000) + eval("len(json.dumps(list(range(3000))))")


def lazy_import():
    total = 0
    for name in ("fractions", "calendar", "csv", "textwrap"):
        total += len(dir(importlib.import_module(name)))
    return total


def main():
    for _ in range(3):
        light()
        heavy()
    fib(12)
    ping(40)
    consume()
    dynamic()
    lazy_import()
    for i in range(100):
        json.dumps({"a": i, "b": [i] * 10})
