"""--native target (tests/e2e/native_test.py and pyfold dump --native): a main loop whose parts run in C libraries,
and a thread blocked in time.sleep.

Usage: native_mix.py SECONDS
Each loop turn: compress_it (zlib.compress of a 1 MiB buffer: libz), spin (pure Python), sort_it (libc's qsort
through ctypes, calling the Python cmp back), hash_it (hashlib.sha256 of 4 MiB: libcrypto). Prints READY on stderr
once the loop runs, and at the end the time each part took as the program measured it (the truth a sampler must
match: on a busy machine the parts stretch unevenly): `native_mix: compress S s, spin S s, sort S s, hash S s`.
"""
import ctypes
import ctypes.util
import hashlib
import os
import sys
import threading
import time
import zlib

DATA = os.urandom(1 << 19) + bytes(1 << 19)
BIG = bytes(range(256)) * (1 << 14)
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))


def compress_it():
    return zlib.compress(DATA, 6)


def spin(n):
    s = 0
    for i in range(n):
        s += i * i
    return s


def cmp(a, b):
    return a[0] - b[0]


def sort_it():
    values = (ctypes.c_int * 2000)(*[(i * 7919) % 1000 for i in range(2000)])
    libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), CMP(cmp))
    return values[0]


def hash_it():
    return hashlib.sha256(BIG).hexdigest()


def sleeper():
    while True:
        time.sleep(10)


def main_loop(seconds):
    parts = [("compress", compress_it), ("spin", lambda: spin(30000)), ("sort", sort_it), ("hash", hash_it)]
    spent = dict.fromkeys([name for name, _ in parts], 0.0)
    print("READY", file=sys.stderr, flush=True)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for name, part in parts:
            t = time.perf_counter()
            part()
            spent[name] += time.perf_counter() - t
    return spent


def main():
    threading.Thread(target=sleeper, daemon=True).start()
    spent = main_loop(float(sys.argv[1]))
    print("native_mix: " + ", ".join(f"{name} {t:.6f} s" for name, t in spent.items()), file=sys.stderr)


main()
