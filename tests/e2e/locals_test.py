"""End-to-end test of `pyfold dump --locals` on every interpreter: a program stopped in a function whose arguments
and locals are of every kind the reader shows (big and negative ints, a str past the length limit, an empty str,
bytes, nested containers, a recursive list, a cell and a free variable, an object whose __repr__ must never run);
the dump shows each as Python would, laid out as py-spy lays it out.

Usage: locals_test.py PYFOLD_DUMP"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

DUMP = sys.argv[1]

PROGRAM = r'''
import sys, time
class Loud:
    def __repr__(self):
        raise SystemExit("__repr__ was called")
def outer():
    shared = "cell"
    def target(a, b=2, *rest, key=None, **extra):
        big = 3 ** 300
        neg = -12345678901234567890
        long_text = "x" * 500
        empty = ""
        raw = b"a\x00'"
        real = 1.5
        flags = (True, False, None)
        nested = [1, (2, 3), {"k": [4, {5}]}, [[[[6]]]]]
        loop = [1]
        loop.append(loop)
        loud = Loud()
        used = shared
        print("READY", flush=True)
        time.sleep(60)
    target(1, 2.5, 3, key="k", z=None)
outer()
'''

BIG = str(3 ** 300)
EXPECTED = [
    "        Arguments:",
    "            a: 1",
    "            b: 2.5",
    "            key: 'k'",
    "            rest: (3,)",
    "            extra: {'z': None}",
    "        Locals:",
    "            big: " + BIG[:100] + f"… ({len(BIG)} digits)",
    "            neg: -12345678901234567890",
    "            long_text: '" + "x" * 80 + "'… (500 chars)",
    "            empty: ''",
    "            raw: b\"a\\x00'\"",
    "            real: 1.5",
    "            flags: (True, False, None)",
    "            nested: [1, (2, 3), {'k': [4, {…}]}, [[[…]]]]",
    "            loop: [1, [...]]",
    "            used: 'cell'",
]


def locals_of_target(out):
    """The lines under the `target` frame, up to the next frame."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("outer.<locals>.target (")
                 or line.strip().startswith("target ("))
    block = []
    for line in lines[start + 1:]:
        if not line.startswith("        "):
            break
        block.append(line)
    return block


with tempfile.TemporaryDirectory() as tmp:
    program = os.path.join(tmp, "locals_target.py")
    harness.write(program, PROGRAM)
    for python in harness.interpreters():
        @check(f"{python.label}: dump --locals shows each argument and local as Python would, never running __repr__")
        def _():
            with harness.running([python.path, program]) as p:
                code, out, err = harness.run([DUMP, "--locals", "--pid", str(p.pid)])
                assert code == 0, f"exit {code}: {err}"
                assert p.poll() is None, "the program ended: its __repr__ ran"
            block = locals_of_target(out)
            # The object with a __repr__ by its type and address; `shared`, a free variable, by its cell's value.
            for want in EXPECTED:
                assert want in block, f"missing {want!r} in:\n" + "\n".join(block)
            loud = [line for line in block if line.startswith("            loud: ")]
            assert loud and loud[0].startswith("            loud: <Loud at 0x"), block
            shared = [line for line in block if line.startswith("            shared: ")]
            assert shared == ["            shared: 'cell'"], block
            assert block.index("        Locals:") > block.index("        Arguments:"), block

harness.finish()
