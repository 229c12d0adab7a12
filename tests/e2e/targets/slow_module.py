# Imported by own_import.py: its top level spins 0.3 s.
import time

_end = time.time() + 0.3
while time.time() < _end:
    sum(range(300))
