#!/usr/bin/env python3
"""End-to-end tests of pyflame-speedscope: the real binary in real shell pipes, on real Python programs' profiles.

Usage: speedscope_test.py PYFLAME_SPEEDSCOPE SOURCE_ROOT
"""
import gzip
import json
import os
import re
import shutil
import sys
import tempfile

from harness import check, finish, frame_text, parse_folded, shell, write

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SAMPLE = os.path.join(ROOT, "samples", "app.folded")
THREADS = os.path.join(ROOT, "tests", "browser", "fixtures", "threads.folded")
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-speedscope-")
SCHEMA = "https://www.speedscope.app/file-format-schema.json"


def sh(command, **kw):
    """Run a shell pipeline with PYFLAME_SPEEDSCOPE set; returns (exit code, stdout bytes, stderr text)."""
    return shell(command, dict(PYFLAME_SPEEDSCOPE=BIN, SAMPLE=SAMPLE, THREADS=THREADS, TMP=TMP, ROOT=ROOT), TMP, **kw)


def folded_lines(path):
    """(frame texts, count) of each stack line, in file order."""
    with open(path, encoding="utf-8") as f:
        return parse_folded(f.read(), split=False, number=float, written=True)


def frame_texts(doc):
    """Each shared frame back as folded text: name (file:line)."""
    return [frame_text(f["name"], f.get("file", ""), f.get("line", 0)) for f in doc["shared"]["frames"]]


def valid(doc):
    """What speedscope's importer needs (the schema itself is checked by the speedscope-schema test)."""
    assert doc["$schema"] == SCHEMA
    assert doc["exporter"].startswith("pyfold@")
    assert 0 <= doc["activeProfileIndex"] < len(doc["profiles"])
    for p in doc["profiles"]:
        assert p["type"] == "sampled" and p["unit"] in ("none", "seconds", "milliseconds", "microseconds",
                                                        "nanoseconds", "bytes")
        assert len(p["samples"]) == len(p["weights"])
        assert all(0 <= i < len(doc["shared"]["frames"]) for s in p["samples"] for i in s)
        assert p["startValue"] == 0 and abs(p["endValue"] - sum(p["weights"])) < 1e-6 * max(1, p["endValue"])


@check("a profile piped through stdin: every line a sample, in input order, frames split and shared")
def _():
    code, out, err = sh('cat "$SAMPLE" | "$PYFLAME_SPEEDSCOPE"')
    assert code == 0 and err == "", (code, err)
    doc = json.loads(out)
    valid(doc)
    assert doc["name"] == "stdin"
    lines = folded_lines(SAMPLE)
    texts = frame_texts(doc)
    assert len(texts) == len(set(texts)), "a frame is listed twice"
    assert len(texts) == len({f for frames, _ in lines for f in frames})
    (p,) = doc["profiles"]
    assert [[texts[i] for i in s] for s in p["samples"]] == [frames for frames, _ in lines]
    assert p["weights"] == [c for _, c in lines]
    assert any(f["name"] == "fib" and f["file"].endswith("app.py") and f["line"] > 0 for f in doc["shared"]["frames"])


@check("the same bytes from a file, from stdin with --name, and from gzip (stdin and a file without .gz)")
def _():
    a = sh('"$PYFLAME_SPEEDSCOPE" "$SAMPLE"')[1]
    assert json.loads(a)["name"] == "app.folded"
    b = sh('"$PYFLAME_SPEEDSCOPE" --name app.folded < "$SAMPLE"')[1]
    c = sh('gzip -c "$SAMPLE" | "$PYFLAME_SPEEDSCOPE" --name app.folded')[1]
    code, d, err = sh('gzip -c "$SAMPLE" > app.folded && "$PYFLAME_SPEEDSCOPE" app.folded')
    assert code == 0, err
    assert a == b == c == d and len(a) > 1000


@check("several inputs are read in order: the same as their concatenation")
def _():
    code, out, err = sh('head -5 "$SAMPLE" > a.folded; tail -n +6 "$SAMPLE" > b.folded; '
                        '"$PYFLAME_SPEEDSCOPE" --name x a.folded b.folded')
    assert code == 0, err
    assert out == sh('"$PYFLAME_SPEEDSCOPE" --name x "$SAMPLE"')[1]


@check("-o writes the file (gzip for .gz) and nothing to stdout")
def _():
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" -o out.speedscope.json "$SAMPLE" && '
                        '"$PYFLAME_SPEEDSCOPE" -o out.speedscope.json.gz "$SAMPLE"')
    assert code == 0 and out == b"" and err == "", (code, err)
    plain = open(os.path.join(TMP, "out.speedscope.json"), "rb").read()
    assert plain == sh('"$PYFLAME_SPEEDSCOPE" "$SAMPLE"')[1]
    assert gzip.open(os.path.join(TMP, "out.speedscope.json.gz")).read() == plain


@check("a real three-thread recording: one profile per thread, --interval 1ms gives milliseconds")
def _():
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --interval 1ms < "$THREADS"')
    assert code == 0 and err == "", err
    doc = json.loads(out)
    valid(doc)
    names = [p["name"] for p in doc["profiles"]]
    assert len(names) == 3 and all(re.fullmatch(r"thread \(\d+\): (Encoder|Matcher|Cruncher)", n) for n in names), names
    totals = {}
    for frames, count in folded_lines(THREADS):
        totals[frames[0]] = totals.get(frames[0], 0) + count
    active = doc["profiles"][doc["activeProfileIndex"]]
    assert active["name"] == max(totals, key=totals.get)
    for p in doc["profiles"]:
        assert p["unit"] == "milliseconds" and p["endValue"] == totals[p["name"]], (p["name"], p["endValue"])
    assert not any(f["name"].startswith("thread (") for f in doc["shared"]["frames"])
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --no-split "$THREADS"')
    assert len(json.loads(out)["profiles"]) == 1


@check("a real multi-thread Python program, sampled, piped into pyflame-speedscope")
def _():
    code, out, err = sh('python3 "$ROOT/tests/browser/fixtures/make_threads.py" /dev/stdout 0.3 '
                        '| "$PYFLAME_SPEEDSCOPE" --interval 1ms --unit seconds')
    assert code == 0, err
    doc = json.loads(out)
    valid(doc)
    assert {p["name"].split(": ")[1] for p in doc["profiles"]} <= {"Encoder", "Matcher", "Cruncher"}
    assert len(doc["profiles"]) >= 2, [p["name"] for p in doc["profiles"]]
    assert doc["profiles"][0]["unit"] == "seconds"
    names = {f["name"] for f in doc["shared"]["frames"]}
    assert "fib" in names and "crunch" in names, names


@check("a real Python program, profiled, piped into pyflame-speedscope")
def _():
    code, out, err = sh('python3 "$ROOT/samples/make_profile.py" /dev/stdout "$ROOT/samples/app.py" 5 '
                        '| "$PYFLAME_SPEEDSCOPE"')
    assert code == 0, err
    doc = json.loads(out)
    valid(doc)
    assert sum(doc["profiles"][0]["weights"]) > 20
    assert any(f["name"] == "main" and f["file"].endswith("app.py") for f in doc["shared"]["frames"])


@check("invalid lines are skipped with one summary; --strict stops at the first with file:line and exit 2")
def _():
    write(os.path.join(TMP, "bad.folded"), "main (a.py:1) 3\nno count\nmain (a.py:1);f (a.py:2) x\nmain (a.py:1) 2\n")
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" bad.folded')
    assert code == 0 and err == "pyflame-speedscope: ignored 2 invalid lines (first: bad.folded:2: no count)\n", err
    assert json.loads(out)["profiles"][0]["weights"] == [3, 2]
    code, out, err = sh('rm -f s.json; "$PYFLAME_SPEEDSCOPE" --strict -o s.json bad.folded; echo "exit $?"; ls s.json')
    assert err.startswith("pyflame-speedscope: bad.folded:2: no count\n") and out.startswith(b"exit 2\n"), (out, err)
    assert b"s.json" not in out.split(b"\n", 1)[1], "a partial file was left behind"


@check("differential input: the second count, with a warning")
def _():
    code, out, err = sh('printf "main (a.py:1) 5 7\\n" | "$PYFLAME_SPEEDSCOPE"')
    assert code == 0 and "the second count is used" in err and "<stdin>:1" in err, err
    assert json.loads(out)["profiles"][0]["weights"] == [7]


@check("empty input: a clear message, no output, exit 2")
def _():
    code, out, err = sh('printf "# nothing\\n\\n" | "$PYFLAME_SPEEDSCOPE"')
    assert code == 2 and out == b"" and "no stack counts found in the input" in err, (code, err)


@check("a reader that goes away (| head -c 100) ends pyflame-speedscope quietly")
def _():
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" "$SAMPLE" "$SAMPLE" "$SAMPLE" "$SAMPLE" | head -c 100; '
                        'echo "status ${PIPESTATUS[0]}" >&2')
    assert len(out) == 100
    assert re.fullmatch(r"status (0|141)\n", err), repr(err)


@check("a full disk is reported and the exit status is 1")
def _():
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" "$SAMPLE" > /dev/full')
    assert code == 1 and "No space left on device" in err, (code, err)


@check("--help, --version and bad options")
def _():
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --help')
    assert code == 0 and b"--interval" in out and b"--no-split" in out and b"--unit" in out
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --version')
    assert code == 0 and re.match(rb"pyflame-speedscope \(pyfold\) \d+\.\d+\.\d+\n", out), out
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --no-such-option < /dev/null')
    assert code == 2 and "Try 'pyflame-speedscope --help'" in err, (code, err)
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --unit samples "$SAMPLE"')
    assert code == 2 and "unknown --unit 'samples'" in err, (code, err)
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" --interval 5 "$SAMPLE"')
    assert code == 2 and "--interval '5'" in err, (code, err)
    code, out, err = sh('"$PYFLAME_SPEEDSCOPE" missing.folded')
    assert code == 1 and "cannot open missing.folded: No such file or directory" in err, (code, err)


if __name__ == "__main__":
    shutil.rmtree(TMP, ignore_errors=True)
    finish()
