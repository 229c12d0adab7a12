# Rewrites the version (and optionally the free_threaded flag) in this process's own _Py_DebugOffsets, which only
# out-of-process readers use, then sleeps: a stand-in for a CPython 3.15 or a free-threaded build, to see pyfold
# refuse it by name. Usage: fake_version.py VERSION_HEX FREE_THREADED(0|1). Needs 3.13+ (_Py_DebugOffsets).
import ctypes
import sys
import time

runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
assert ctypes.string_at(runtime, 8) == b"xdebugpy", "no _Py_DebugOffsets at _PyRuntime"
ctypes.c_uint64.from_address(runtime + 8).value = int(sys.argv[1], 16)   # version, after the 8-byte cookie
ctypes.c_uint64.from_address(runtime + 16).value = int(sys.argv[2])      # free_threaded
print("READY", flush=True)
time.sleep(60)
