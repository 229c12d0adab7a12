"""Workloads that are hard for a sampler, for tests/bench/accuracy.py: fast recursion, many tiny method calls,
`yield from` generator trees, coroutines driven by `send` (those four from the e2e targets beside this file), deep
copies, C-heavy code, and threads doing each.
Each does a fixed amount of work (not a fixed time), so every run of one workload does the same thing.

Usage: python3 accuracy_workloads.py NAME [SCALE]
"""
import copy
import json
import re
import sys
import threading
import zlib

from fast_recursion import fib
from generator_tree import sink, stage, tree as make_tree, walk
from tiny_methods import Vec, step


# fib: deep pure-Python recursion (fast_recursion.py's fib), with a long C call (sorting) beside it.
def long_c_call(data):
    return sorted(data)


def fib_workload(scale):
    data = [(i * 7919) % 100003 for i in range(200000)]
    for _ in range(scale):
        fib(21)
        long_c_call(data)


# vector: many tiny methods on small objects (tiny_methods.py's Vec and step).
def vector_workload(scale):
    points = [Vec(i, i * 0.5, -i) for i in range(1000)]
    for _ in range(scale * 12):
        step(points)


# generators: a tree walked with recursive `yield from` (generator_tree.py's tree and walk).
def consume(tree):
    total = 0
    for v in walk(tree):
        total += v
    return total


def generators_workload(scale):
    tree = make_tree(12)
    for _ in range(scale * 3):
        consume(tree)


# coroutines: a pipeline of coroutines (generator_tree.py's stage and sink), each passing values on with send().
def pipeline_run(n):
    box = [0]
    s = sink(box)
    next(s)
    head = s
    for _ in range(6):
        head = stage(head)
        next(head)
    for i in range(n):
        head.send(i)
    return box[0]


def coroutines_workload(scale):
    for _ in range(scale):
        pipeline_run(20000)


# deepcopy: copy.deepcopy of nested data.
def nested(depth):
    return {"a": [1, 2.5, "x", (3, 4)], "b": [nested(depth - 1)] * 2 if depth else None}


def deepcopy_workload(scale):
    data = nested(7)
    for _ in range(scale * 2):
        copy.deepcopy(data)


# cheavy: json, re and zlib (time mostly inside C).
WORDS = re.compile(r"[a-z]+@[a-z]+\.com")


def json_part(records):
    return json.loads(json.dumps(records))


def regex_part(text):
    return WORDS.findall(text)


def zlib_part(blob):
    return zlib.compress(blob, 9)


def cheavy_workload(scale):
    records = [{"id": i, "mail": f"user{i}@host{i % 9}.com", "v": [i] * 5} for i in range(3000)]
    text = " ".join(r["mail"] for r in records) * 3
    blob = text.encode() * 4
    for _ in range(scale * 2):
        json_part(records)
        regex_part(text)
        zlib_part(blob)


# threads: three threads, each doing one of the call-heavy workloads.
def threads_workload(scale):
    workers = [threading.Thread(target=f, args=(scale,), name=name)
               for name, f in (("fib-thread", fib_workload), ("gen-thread", generators_workload),
                               ("vec-thread", vector_workload))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


WORKLOADS = {
    "fib": fib_workload, "vector": vector_workload, "generators": generators_workload,
    "coroutines": coroutines_workload, "deepcopy": deepcopy_workload, "cheavy": cheavy_workload,
    "threads": threads_workload,
}

if __name__ == "__main__":
    WORKLOADS[sys.argv[1]](int(sys.argv[2]) if len(sys.argv) > 2 else 10)
