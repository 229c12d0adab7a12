#!/usr/bin/env python3
"""Hostile and huge inputs for pyflame-svg, each with the exact outcome expected.

Usage: hostile_test.py PYFLAME_SVG
PYFOLD_HUGE_BYTES sets the size of the streamed input (default 2 GiB; the sanitizer run uses less), and
PYFOLD_HUGE_RSS_MIB the peak memory allowed for it (default 100).
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import check, finish, shell, svg_titles, write as write_file

BIN = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="pyfold-hostile-")
HUGE = int(os.environ.get("PYFOLD_HUGE_BYTES", str(2 << 30)))
# Peak RSS allowed while streaming it (sanitizers' shadow memory needs more: PYFOLD_HUGE_RSS_MIB).
LIMIT_KIB = int(os.environ.get("PYFOLD_HUGE_RSS_MIB", "100")) * 1024


def sh(command, stdin=None):
    return shell(command, dict(PYFLAME_SVG=BIN, TMP=TMP), TMP, input=stdin)


def write(name, data):
    write_file(os.path.join(TMP, name), data)


@check(f"{HUGE >> 20} MiB streamed from stdin: every sample counted, memory bounded by the unique frames")
def _():
    lines = b"main (app.py:1);work (app.py:2);parse (app.py:3) 1\nmain (app.py:1);work (app.py:2);emit (app.py:9) 2\n"
    repeats = HUGE // len(lines)
    # yes repeats its argument (two lines and a newline); head -n keeps whole lines. Nothing is stored on disk.
    code, out, err = sh(f"yes $'{lines[:-1].decode()}' | head -n {2 * repeats} | \"$PYFLAME_SVG\" --minwidth 0")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert code == 0 and err == "", (code, err)
    t = svg_titles(out)
    samples = 3 * repeats
    assert t[0] == f"all ({samples:,} samples, 100%)", t[0]
    assert peak_kib < LIMIT_KIB, f"peak RSS {peak_kib} KiB"


@check("a single 50 MB line renders, its frame cut to fit")
def _():
    write("long.folded", b"main;" + b"x" * (50 << 20) + b" 7\nmain;short 1\n")
    code, out, err = sh('"$PYFLAME_SVG" --minwidth 0 long.folded')
    assert code == 0 and err == "", (code, err)
    t = svg_titles(out)
    assert any(x.startswith("xxxx") and x.endswith("(7 samples, 87.50%)") for x in t), [x[:40] for x in t]


@check("a 100,000-frame stack under a 256 KiB stack limit (no recursion on stack depth)")
def _():
    write("deep.folded", (";".join(f"f{i}" for i in range(100000)) + " 3\n").encode())
    code, out, err = sh('ulimit -s 256 && "$PYFLAME_SVG" --minwidth 0 deep.folded')
    assert code == 0 and err == "", (code, err)
    t = svg_titles(out)
    assert len(t) == 100001 and "f99999 (3 samples, 100.00%)" in t, len(t)


@check("counts beyond 2^53 (and beyond 64 bits) are refused, never wrapped or rounded")
def _():
    code, out, err = sh('printf "a;b 99999999999999999999999\\na;c 5\\n" | "$PYFLAME_SVG" --minwidth 0')
    assert code == 0, code
    assert err == "pyflame-svg: ignored 1 invalid line (first: <stdin>:1: count too large (the limit is 2^53))\n", err
    assert svg_titles(out)[0] == "all (5 samples, 100%)"
    code, out, err = sh('printf "a 9007199254740992\\nb 1\\n" | "$PYFLAME_SVG"')
    assert code == 2 and err.startswith("pyflame-svg: <stdin>:2: the total count exceeds 2^53"), (code, err)


@check("NUL bytes and other control characters in names: removed, the SVG stays well-formed")
def _():
    code, out, err = sh('"$PYFLAME_SVG" --minwidth 0', stdin=b"ma\0in;wo\x01rk\x7f 2\n")
    assert code == 0, (code, err)
    t = svg_titles(out)
    assert "main (2 samples, 100.00%)" in t and not any("\0" in x or "\x01" in x for x in t), t


@check("invalid UTF-8 is replaced with U+FFFD, never copied into the XML")
def _():
    code, out, err = sh('"$PYFLAME_SVG" --minwidth 0', stdin=b"caf\xe9;\xff\xfe;ok\xc3 4\n")
    assert code == 0, (code, err)
    t = svg_titles(out)
    assert "caf\ufffd (4 samples, 100.00%)" in t, t
    out.decode("utf-8")  # strict: every byte sequence in the output is valid UTF-8


@check("CR-only line ends (old Mac files) read as lines, the same frames as LF")
def _():
    code, lf, _ = sh('"$PYFLAME_SVG" --minwidth 0', stdin=b"a;b 1\nc;d 2\n")
    code2, cr, err = sh('"$PYFLAME_SVG" --minwidth 0', stdin=b"a;b 1\rc;d 2\r")
    assert code == code2 == 0 and err == "", err
    assert svg_titles(cr) == svg_titles(lf), svg_titles(cr)


@check("-o never leaves a half-written file under its name: killed mid-way, or stopped by an error")
def _():
    out_path = os.path.join(TMP, "partial.svg")
    proc = subprocess.Popen([BIN, "-o", out_path], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdin.write(b"a;b 1\n" * 100000)
    proc.stdin.flush()
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not os.path.exists(out_path), "a killed run left partial.svg"
    code, out, err = sh('printf "a 1\\nbad\\n" | "$PYFLAME_SVG" --strict -o strict.svg')
    assert code == 2 and not os.path.exists(os.path.join(TMP, "strict.svg")), (code, err)
    leftovers = [f for f in os.listdir(TMP) if f.startswith("strict.svg")]
    assert leftovers == [], leftovers


if __name__ == "__main__":
    shutil.rmtree(TMP, ignore_errors=True)
    finish()
