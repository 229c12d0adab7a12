"""--native target (tests/e2e/native_test.py): a main loop whose parts run in C libraries, timed in-process for the
known proportion, and a thread blocked in time.sleep.

Usage: native_mix.py SECONDS RESULT_FILE
Each loop turn: compress_it (zlib.compress of a 1 MiB buffer: libz), spin (pure Python), sort_it (libc's qsort
through ctypes, calling the Python cmp back), hash_it (hashlib.sha256 of 4 MiB: libcrypto). RESULT_FILE gets
`compress SHARE` (compress_it's share of the loop's time) at the end.
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
    spent = {"compress": 0.0}
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        compress_it()
        spent["compress"] += time.perf_counter() - t
        spin(30000)
        sort_it()
        hash_it()
    return spent["compress"] / (time.perf_counter() - start)


def main():
    threading.Thread(target=sleeper, daemon=True).start()
    share = main_loop(float(sys.argv[1]))
    with open(sys.argv[2], "w") as f:
        f.write(f"compress {share:.4f}\n")


main()
