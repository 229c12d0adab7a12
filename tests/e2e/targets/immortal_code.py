# CPython 3.14 tags f_executable (a _PyStackRef) with Py_TAG_REFCNT (bit 0) when the code object is immortal, as
# the interpreter's own shim code is. Ordinary code objects are mortal, so this target makes the code of `tagged`
# immortal (ctypes sets the low 32 bits of its refcount to 3 << 30, _Py_IMMORTAL_INITIAL_REFCNT, as CPython does
# for static objects) and spends its time there: every frame of `tagged` then carries a tagged f_executable.
# On older versions it just runs the same loop untagged.
import ctypes
import sys
import time


def tagged(n):
    total = 0
    for i in range(n):
        total += i
    return total


def untagged(n):
    return tagged(n)


def main(seconds):
    if sys.version_info >= (3, 14):
        ctypes.c_uint32.from_address(id(tagged.__code__)).value = 3 << 30
        assert sys._is_immortal(tagged.__code__), "the code object did not become immortal"
        print("IMMORTAL", flush=True)
    end = time.time() + seconds
    while time.time() < end:
        untagged(20000)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
