# The chain every profiling tool must show (tests/e2e/cpython_tools_test.py): leaf holds nearly all the time, under
# top -> mid. Usage: top_mid_leaf.py [ROUNDS]
import sys


def leaf(n):
    total = 0
    for i in range(n):
        total += i
    return total


def mid():
    return leaf(100000)


def top(rounds):
    for _ in range(rounds):
        mid()


top(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
