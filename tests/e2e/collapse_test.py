#!/usr/bin/env python3
"""End-to-end tests of pyfold-collapse and pyfold-diff: the real binaries in real shell pipes into pyflame-svg.

Usage: collapse_test.py PYFOLD_COLLAPSE PYFOLD_DIFF PYFLAME_SVG PYFOLD SOURCE_ROOT
"""
import gzip
import json
import os
import re
import shutil
import sys
import tempfile

from harness import check, finish, folded_counts as folded, shell, split_frame, svg_frames, write

COLLAPSE, DIFF, SVG, PYFOLD, ROOT = (os.path.abspath(a) for a in sys.argv[1:6])
DATA = os.path.join(ROOT, "tests", "golden", "data", "pyfold-collapse")
SAMPLE = os.path.join(ROOT, "samples", "app.folded")
PERF_PY = os.path.join(DATA, "py313-jit.perf")
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-collapse-")


def sh(command, **kw):
    env = dict(COLLAPSE=COLLAPSE, DIFF=DIFF, SVG=SVG, PYFOLD=PYFOLD, DATA=DATA, SAMPLE=SAMPLE, PERF_PY=PERF_PY, TMP=TMP)
    return shell(command, env, TMP, **kw)


def perf_periods(path, event=None):
    """Sum of the periods of the samples of the first event type, read independently of pyfold."""
    total, first = 0, event
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"^\S.*?\s+\d+(/\d+)?\s.*:\s*(\d+)\s+(\S+):\s*$", line)
        if m:
            first = first or m.group(3)
            if m.group(3) == first:
                total += int(m.group(2))
    return total


@check("perf script (Python 3.13 perf_jit) | pyfold collapse | pyflame-svg: every period counted, Python frames named")
def _():
    code, out, err = sh('cat "$PERF_PY" | "$COLLAPSE" | "$SVG" --colors python')
    assert code == 0 and err == "", (code, err)
    f = svg_frames(out)
    assert f[0][0] == "all" and f[0][1] == perf_periods(PERF_PY), (f[0], perf_periods(PERF_PY))
    names = {n for n, _, _ in f}
    assert "leaf (/tmp/pf/small.py)" in names and "encode (/tmp/pf/small.py)" in names, sorted(names)[:20]


@check("a large file (read in place, mapped) and the same bytes through a pipe collapse the same, every format")
def _():
    # Over 1 MiB, so a named file is mapped; format detection peeks at its head first.
    for name in ("py313-jit.perf", "sample.austin", "python.folded"):
        code, _, err = sh(f': > big-{name}; while [ $(wc -c < big-{name}) -lt 1100000 ]; do cat "$DATA/{name}" >> big-{name}; done')
        assert code == 0, (name, err)
        code, mapped, err = sh(f'"$COLLAPSE" big-{name}')
        assert code == 0, (name, err)
        code, piped, err2 = sh(f'cat big-{name} | "$COLLAPSE"')
        assert code == 0, (name, err2)
        # The messages differ only in naming the source.
        assert mapped == piped and err.replace(f"big-{name}", "<stdin>") == err2 and len(mapped) > 0, (name, err, err2)
    code, mapped, _ = sh('"$SVG" --deterministic big-python.folded')
    code2, piped, _ = sh('cat big-python.folded | "$SVG" --deterministic')
    assert code == 0 and code2 == 0 and mapped == piped


@check("--python-only keeps every sample and only Python frames under the comm")
def _():
    code, out, err = sh('"$COLLAPSE" --python-only "$PERF_PY"')
    assert code == 0, err
    stacks = folded(out)
    assert sum(stacks.values()) == perf_periods(PERF_PY)
    for stack in stacks:
        frames = stack.split(";")
        assert frames[0] == "python3.13" and all(f.endswith(")") for f in frames[1:]), stack


@check("a live perf record of a Python program, through perf script, collapse and pyflame-svg")
def _():
    if not shutil.which("perf"):
        print("     (skipped: no perf)")
        return
    code, _, err = sh('perf record -q -F 499 -g -o live.data -- python3 -c "sum(i*i for i in range(3000000))"')
    if code != 0:
        print(f"     (skipped: perf record cannot run here: {err.strip()[:100]})")
        return
    code, out, err = sh('perf script -i live.data 2>/dev/null > live.perf && "$COLLAPSE" live.perf | "$SVG"')
    assert code == 0, err
    f = svg_frames(out)
    assert f[0][1] == perf_periods(os.path.join(TMP, "live.perf")) and f[0][1] > 0
    assert any(n == "python3" for n, _, _ in f), "no comm frame"


@check("formats are guessed from the content: austin, speedscope and folded merged into one profile")
def _():
    code, out, err = sh('cp "$DATA/sample.austin" a.txt && cp "$DATA/sampled.speedscope.json" s.txt && '
                        '"$COLLAPSE" a.txt s.txt "$SAMPLE"')
    assert code == 0, err
    merged = folded(out)
    parts = [folded(sh(f'"$COLLAPSE" {p}')[1]) for p in ("a.txt", "s.txt", '"$SAMPLE"')]
    assert abs(sum(merged.values()) - sum(sum(p.values()) for p in parts)) < 1e-6
    assert "warning" not in err and "austin: dropped :INVALID:" in err, err


@check("gzip input by magic bytes on stdin; -o FILE.gz writes gzip, -o FILE plain")
def _():
    plain = sh('"$COLLAPSE" "$SAMPLE"')[1]
    code, out, err = sh('gzip -c "$SAMPLE" | "$COLLAPSE"')
    assert code == 0 and out == plain, err
    code, out, err = sh('"$COLLAPSE" -o out.folded.gz "$SAMPLE" && "$COLLAPSE" -o out.folded "$SAMPLE"')
    assert code == 0 and out == b"", err
    assert gzip.open(os.path.join(TMP, "out.folded.gz")).read() == plain
    assert open(os.path.join(TMP, "out.folded"), "rb").read() == plain


@check("round trip: folded -> speedscope (sampled) -> pyfold collapse gives the same stacks and counts")
def _():
    original = folded(open(SAMPLE, encoding="utf-8").read())
    frames, index, samples, weights = [], {}, [], []
    for stack, count in original.items():
        path = []
        for frame in stack.split(";"):
            if frame not in index:
                name, file, line = split_frame(frame)
                entry = dict({"name": name}, **({"file": file} if file else {}), **({"line": line} if line else {}))
                index[frame] = len(frames)
                frames.append(entry)
            path.append(index[frame])
        samples.append(path)
        weights.append(count)
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json", "shared": {"frames": frames},
           "profiles": [{"type": "sampled", "name": "app", "unit": "none", "startValue": 0,
                         "endValue": sum(weights), "samples": samples, "weights": weights}]}
    with open(os.path.join(TMP, "app.speedscope.json"), "w") as f:
        json.dump(doc, f)
    code, out, err = sh('"$COLLAPSE" < app.speedscope.json')
    assert code == 0 and err == "", err
    assert folded(out) == original
    pyflame_speedscope = os.path.join(os.path.dirname(SVG), "pyflame-speedscope")
    if os.path.exists(pyflame_speedscope):  # the renderer, once it is built here too
        code, out, err = sh(f'"{pyflame_speedscope}" "$SAMPLE" | "$COLLAPSE" --profile all')
        assert code == 0 and folded(out) == original, err


@check("round trip through the real renderer: pyflame-speedscope | pyfold collapse gives the same stacks back")
def _():
    speedscope = os.path.join(os.path.dirname(SVG), "pyflame-speedscope")
    assert os.access(speedscope, os.X_OK), f"no {speedscope}"
    original = folded(open(SAMPLE, encoding="utf-8").read())
    code, out, err = sh(f'"{speedscope}" "$SAMPLE" | "$COLLAPSE" --format speedscope')
    assert code == 0 and err == "", err
    assert folded(out) == original
    # Per-thread profiles (pyfold record --threads roots) come back under their names with --profile all --threads.
    threads = "thread (11): MainThread;main (a.py:1);f (a.py:2) 3\nthread (12): worker;run (b.py:5) 2\n"
    write(os.path.join(TMP, "threads.folded"), threads)
    code, out, err = sh(f'"{speedscope}" threads.folded | "$COLLAPSE" --format speedscope --profile all --threads')
    assert code == 0 and folded(out) == folded(threads), (err, out)


@check("operations: --strip-dirs --strip-lines merge stacks, totals kept; --focus roots stacks at the frame")
def _():
    total = sum(folded(open(SAMPLE).read()).values())
    code, out, err = sh('"$COLLAPSE" --strip-dirs --strip-lines "$SAMPLE" | "$SVG"')
    assert code == 0, err
    f = svg_frames(out)
    assert f[0][1] == total
    assert any(n == "fib (app.py)" for n, _, _ in f)
    code, out, err = sh('"$COLLAPSE" --focus "^rank " --hide-libraries "$SAMPLE"')
    assert code == 0 and all(s.startswith("rank (") for s in folded(out)), out[:200]


@check("pyfold diff BEFORE AFTER | pyflame-svg draws a differential graph; -n scales BEFORE")
def _():
    write(os.path.join(TMP, "before.folded"), "main;a 10\nmain;b 30\n")
    write(os.path.join(TMP, "after.folded"), "main;a 40\nmain;c 20\n")
    code, out, err = sh('"$DIFF" before.folded after.folded')
    assert code == 0 and out.decode() == "main;a 10 40\nmain;b 30 0\nmain;c 0 20\n", (out, err)
    code, out, err = sh('"$DIFF" -n before.folded after.folded')
    assert out.decode() == "main;a 15 40\nmain;b 45 0\nmain;c 0 20\n", out
    code, out, err = sh('"$DIFF" before.folded after.folded | "$SVG"')
    assert code == 0, err
    f = {n: (c, d) for n, c, d in svg_frames(out)}
    assert f["a"][0] == 40 and f["a"][1].startswith("+"), f
    code, out, err = sh('"$DIFF" before.folded')
    assert code == 2 and "two profiles" in err, err


@check("bad input: counted with file:line, fatal with --strict (exit 2); unknown formats and empty input exit 2")
def _():
    write(os.path.join(TMP, "bad.folded"), "a;b 1\nno count\na;c 2\n")
    code, out, err = sh('"$COLLAPSE" bad.folded')
    assert code == 0 and err == "pyfold-collapse: ignored 1 invalid line (first: bad.folded:2: no count)\n", err
    code, out, err = sh('"$COLLAPSE" --strict bad.folded')
    assert code == 2 and err == "pyfold-collapse: bad.folded:2: no count\n" and out == b"", (code, err)
    code, out, err = sh('printf "<html>\\n" | "$COLLAPSE"')
    assert code == 2 and "cannot tell the format" in err, err
    code, out, err = sh('printf "" | "$COLLAPSE"')
    assert code == 2 and "no stacks found" in err, err
    # A folded file named as a pstats dump: an error naming the file.
    code, out, err = sh('"$COLLAPSE" --format pstats "$SAMPLE"')
    assert code == 2 and "app.folded" in err, err
    code, out, err = sh('"$COLLAPSE" --include "(" "$SAMPLE"')
    assert code == 2 and "not a valid regular expression" in err, err
    code, out, err = sh('"$COLLAPSE" /nonexistent/x.perf')
    assert code == 1, (code, err)


@check("pyfold collapse and pyfold diff through the front end; --help and --version")
def _():
    direct = sh('"$COLLAPSE" "$SAMPLE"')[1]
    code, out, err = sh('"$PYFOLD" collapse "$SAMPLE"')
    assert code == 0 and out == direct, err
    code, out, err = sh('"$COLLAPSE" --help')
    assert code == 0 and b"--python-only" in out and b"--prune" in out and b"auto" in out
    code, out, err = sh('"$DIFF" --version')
    assert code == 0 and out.startswith(b"pyfold-diff (pyfold) ")


@check("a reader that goes away (| head -c 10) ends pyfold-collapse quietly")
def _():
    code, out, err = sh('"$COLLAPSE" "$PERF_PY" "$PERF_PY" "$PERF_PY" | head -c 10; echo "status ${PIPESTATUS[0]}" >&2')
    assert len(out) == 10 and re.fullmatch(r"status (0|141)\n", err), repr(err)


shutil.rmtree(TMP, ignore_errors=True)
finish()
