#!/usr/bin/env python3
"""End-to-end tests of pyflame-svg: the real binary in real shell pipes, on a real Python program's profile.

Usage: svg_test.py PYFLAME_SVG SOURCE_ROOT
"""
import gzip
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

from harness import check, finish, parse_folded, shell, svg_frames, total, write

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SAMPLE = os.path.join(ROOT, "samples", "app.folded")
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-")


def sh(command, **kw):
    """Run a shell pipeline with PYFLAME_SVG set; returns (exit code, stdout bytes, stderr text)."""
    return shell(command, dict(PYFLAME_SVG=BIN, SAMPLE=SAMPLE, TMP=TMP, ROOT=ROOT), TMP, **kw)


def frames(svg_bytes):
    """(name, samples) of every frame."""
    return [(name, samples) for name, samples, _ in svg_frames(svg_bytes)]


def folded_total(path):
    with open(path, encoding="utf-8") as f:
        return total(parse_folded(f.read(), split=False, written=True))


@check("a profile piped through stdin renders to well-formed SVG with every sample")
def _():
    code, out, err = sh('cat "$SAMPLE" | "$PYFLAME_SVG" > out.svg && cat out.svg')
    assert code == 0 and err == "", (code, err)
    f = frames(out)
    assert f[0] == ("all", folded_total(SAMPLE)), f[0]
    names = {n for n, _ in f}
    assert any(n.startswith("fib (") for n in names), "no fib frame"
    assert any(n.startswith("loads (") for n in names), "no json loads frame"


@check("the same input gives the same bytes, from a file or stdin")
def _():
    a = sh('"$PYFLAME_SVG" "$SAMPLE"')[1]
    b = sh('"$PYFLAME_SVG" < "$SAMPLE"')[1]
    assert a == b and len(a) > 1000


@check("gzip input is read by its magic bytes, on stdin and from a file without .gz")
def _():
    plain = sh('"$PYFLAME_SVG" "$SAMPLE"')[1]
    code, out, err = sh('gzip -c "$SAMPLE" | "$PYFLAME_SVG"')
    assert code == 0 and out == plain, err
    code, out, err = sh('gzip -c "$SAMPLE" > profile.data && "$PYFLAME_SVG" profile.data')
    assert code == 0 and out == plain, err


@check("several inputs are merged: the same as their concatenation")
def _():
    both = sh('"$PYFLAME_SVG" "$SAMPLE" - < "$SAMPLE"')[1]
    cat = sh('cat "$SAMPLE" "$SAMPLE" | "$PYFLAME_SVG"')[1]
    assert both == cat
    assert frames(both)[0] == ("all", 2 * folded_total(SAMPLE))


@check("-o writes the file (gzip for .svgz) and nothing to stdout")
def _():
    code, out, err = sh('"$PYFLAME_SVG" -o out.svgz "$SAMPLE"')
    assert code == 0 and out == b"" and err == "", (code, err)
    plain = sh('"$PYFLAME_SVG" "$SAMPLE"')[1]
    assert gzip.open(os.path.join(TMP, "out.svgz")).read() == plain
    code, out, err = sh('"$PYFLAME_SVG" -o /nonexistent-dir/x.svg "$SAMPLE"')
    assert code == 1 and "cannot create /nonexistent-dir/x.svg.tmp" in err, (code, err)


@check("invalid lines are skipped with one summary; --strict stops at the first with file:line and exit 2")
def _():
    write(os.path.join(TMP, "bad.folded"), "a;b 1\nno count\na;c 2\nx;y 1.2.3\n")
    code, out, err = sh('"$PYFLAME_SVG" bad.folded > /dev/null')
    assert code == 0, code
    assert err == "pyflame-svg: ignored 2 invalid lines (first: bad.folded:2: no count)\n", repr(err)
    code, out, err = sh('"$PYFLAME_SVG" --strict bad.folded')
    assert code == 2 and err == "pyflame-svg: bad.folded:2: no count\n" and out == b"", (code, err)
    code, out, err = sh('cat bad.folded | "$PYFLAME_SVG" --strict')
    assert code == 2 and err == "pyflame-svg: <stdin>:2: no count\n", (code, err)


@check("empty input: a clear message, an error SVG, exit 2")
def _():
    code, out, err = sh('printf "# nothing here\\n\\n" | "$PYFLAME_SVG"')
    assert code == 2 and "no stack counts found" in err, (code, err)
    assert b"ERROR: No valid input" in out
    ET.fromstring(out)


@check("a reader that goes away (| head -c 100) ends pyflame-svg quietly")
def _():
    code, out, err = sh('"$PYFLAME_SVG" --minwidth 0 "$SAMPLE" "$SAMPLE" "$SAMPLE" | head -c 100; echo "status ${PIPESTATUS[0]}" >&2')
    assert len(out) == 100
    assert re.fullmatch(r"status (0|141)\n", err), repr(err)


@check("a full disk is reported and the exit status is 1")
def _():
    code, out, err = sh('"$PYFLAME_SVG" --minwidth 0 "$SAMPLE" > /dev/full')
    assert code == 1 and "write error: No space left on device" in err, (code, err)


@check("--help, --version and a bad option")
def _():
    code, out, err = sh('"$PYFLAME_SVG" --help')
    assert code == 0 and b"--minwidth" in out and b"--colors" in out and b"python" in out
    code, out, err = sh('"$PYFLAME_SVG" --version')
    assert code == 0 and re.match(rb"pyflame-svg \(pyfold\) \d+\.\d+\.\d+\n", out), out
    code, out, err = sh('"$PYFLAME_SVG" --no-such-option < /dev/null')
    assert code == 2 and "Try 'pyflame-svg --help'" in err, (code, err)
    code, out, err = sh('"$PYFLAME_SVG" --colors nope "$SAMPLE"')
    assert code == 2 and "unknown --colors 'nope'" in err, (code, err)
    code, out, err = sh('"$PYFLAME_SVG" missing.folded')
    assert code == 1 and "cannot open missing.folded: No such file or directory" in err, (code, err)


@check("hostile frame names stay text: the SVG is well-formed and holds no injected element")
def _():
    write(os.path.join(TMP, "hostile.folded"), b"main;<script>alert(1)</script> 5\nmain;]]><x/> 3\nmain;a\x00b\x1b\xff 2\n")
    code, out, err = sh('"$PYFLAME_SVG" --title "<b>&" --notes "-- x --" hostile.folded')
    assert code == 0, err
    root = ET.fromstring(out)
    assert not root.findall(".//{http://www.w3.org/2000/svg}script/..//{http://www.w3.org/2000/svg}x")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}script")) == 1
    names = [n for n, _ in frames(out)]
    assert "<script>alert(1)</script>" in names and "]]><x/>" in names, names


@check("--cp writes palette.map and keeps a name's colour across graphs")
def _():
    write(os.path.join(TMP, "one.folded"), "main;alpha 3\nmain;beta 2\n")
    write(os.path.join(TMP, "two.folded"), "main;beta 5\nmain;gamma 1\n")
    code, first, err = sh('rm -f palette.map && "$PYFLAME_SVG" --cp --random one.folded')
    assert code == 0, err
    stored = dict(line.rstrip("\n").split("->") for line in open(os.path.join(TMP, "palette.map")))
    assert set(stored) == {"", "main", "alpha", "beta"}, stored
    code, second, err = sh('"$PYFLAME_SVG" --cp --random two.folded')
    assert code == 0, err
    fills = dict(re.findall(rb'<title>(\w+) \([^<]*</title><rect [^>]*fill="([^"]+)"', second))
    assert fills[b"beta"].decode() == stored["beta"], (fills, stored)
    stored = dict(line.rstrip("\n").split("->") for line in open(os.path.join(TMP, "palette.map")))
    assert "gamma" in stored


@check("a real Python program, profiled, piped into pyflame-svg")
def _():
    python = shutil.which("python3")
    assert python, "python3 not on PATH"
    code, out, err = sh('python3 "$ROOT/samples/make_profile.py" /dev/stdout "$ROOT/samples/app.py" 5 '
                        '| "$PYFLAME_SVG" --colors python --title app.py')
    assert code == 0, err
    f = frames(out)
    names = {n for n, _ in f}
    assert f[0][1] > 20, f[0]
    assert any(n.startswith("main (") and n.endswith("app.py:49)") or n.endswith("app.py:50)") for n in names)
    assert any(n.startswith("fib (") for n in names)
    fills = re.findall(rb'<title>([^<]*)</title><rect [^>]*fill="rgb\((\d+),(\d+),(\d+)\)"', out)
    for title, r, g, b in fills:
        if b"/json/" in title:
            assert int(b) > int(r), title  # the standard library is blue


if __name__ == "__main__":
    shutil.rmtree(TMP, ignore_errors=True)
    finish()
