#!/usr/bin/env python3
"""Writes line-table test vectors from real code objects of the running interpreter, one line per code object:
`MINOR FIRSTLINENO TABLE_HEX OFFSET:LINE,...` (OFFSET in bytes of bytecode; LINE from dis.findlinestarts before
3.10, co_lines() from 3.10; offsets with no line are left out). Run once per interpreter and concatenate:
  for p in /root/.pyenv/versions/3.{8..13}*/bin/python3; do $p make_line_tables.py; done > line_tables.txt"""
import dis
import sys

SOURCE = '''
def simple(n):
    total = 0
    for i in range(n):
        total += i
    return total

def branches(x):
    if x > 3:
        y = 1
    elif x < -3:
        y = 2
    else:
        y = 3
    while x > 0:
        x -= 1
    return y
''' + "def far(a):\n    b = a\n" + "\n" * 300 + "    c = b + 1\n" + "\n" * 40 + "    return (c,\n\n\n   a)\n" + '''
def calls(items):
    return sorted(items, key=lambda k: -k)

class K:
    def method(self):
        try:
            return [x * 2 for x in range(3)]
        except ValueError:
            return None
'''

namespace = {}
exec(compile(SOURCE, "vectors.py", "exec"), namespace)


def codes():
    for obj in (namespace["simple"], namespace["branches"], namespace["far"], namespace["calls"],
                namespace["K"].method):
        yield obj.__code__
        for const in obj.__code__.co_consts:
            if hasattr(const, "co_code"):
                yield const


minor = sys.version_info[1]
for code in codes():
    if minor <= 9:
        table = code.co_lnotab
        starts = list(dis.findlinestarts(code))
        pairs = []
        for offset in range(0, len(code.co_code), 2):
            lines = [line for start, line in starts if start <= offset]
            pairs.append((offset, lines[-1] if lines else code.co_firstlineno))
    else:
        table = code.co_linetable
        pairs = [(offset, line) for start, end, line in code.co_lines() if line is not None
                 for offset in range(start, end, 2)]
    print(minor, code.co_firstlineno, table.hex() or "-", ",".join(f"{o}:{l}" for o, l in pairs))
