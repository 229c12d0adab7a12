# The script's own import takes time (slow_module's top level spins 0.3 s), then main() spins: the import is the
# script's time and stays in the profile, the interpreter's start-up before line 1 does not.
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import slow_module  # noqa: E402


def main(seconds):
    end = time.time() + seconds
    while time.time() < end:
        sum(range(300))


main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.5)
