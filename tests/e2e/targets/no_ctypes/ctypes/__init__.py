# On PYTHONPATH, a Python without ctypes (some minimal builds): pyfold's in-process bootstrap cannot load its native
# sampler and must fall back to its signal handler, and say so.
raise ImportError("this Python has no ctypes (tests/e2e/targets/no_ctypes)")
