# Works in busy() for a while, then ends as asked: `exit N`, `abort` (os.abort) or `wait` (runs until killed).
import os
import sys
import time


def busy(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(1000))


how = sys.argv[1]
busy(float(sys.argv[2]))
if how == "exit":
    sys.exit(int(sys.argv[3]))
if how == "abort":
    os.abort()
while how == "wait":
    busy(1.0)
