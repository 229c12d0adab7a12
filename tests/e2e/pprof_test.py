#!/usr/bin/env python3
"""End-to-end tests of pyflame-pprof: the real binary in real pipes, its output read back by Go's own pprof
(`go tool pprof -raw`, `-top`), every stack and count compared with the input. Exits 77 when go is absent (outside CI).

Usage: pprof_test.py PYFLAME_PPROF SOURCE_ROOT
"""
import collections
import gzip
import os
import re
import shutil
import sys
import tempfile

from harness import check, finish, folded_counts as parsed_counts, frame_text, shell

BIN, ROOT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
GO = shutil.which("go")
if not GO:
    if os.environ.get("CI"):
        sys.exit("go (Debian golang-go) is needed by this test in CI")
    print("SKIP: go (Debian golang-go) not found")
    sys.exit(77)
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-pprof-")
INPUTS = {
    "app": os.path.join(ROOT, "samples", "app.folded"),
    "threads": os.path.join(ROOT, "tests", "browser", "fixtures", "threads.folded"),
    "hostile": os.path.join(ROOT, "tests", "golden", "data", "pyflame-svg", "hostile.folded"),
}
ENV = dict(GOCACHE=os.path.join(TMP, "gocache"), HOME=os.environ.get("HOME", TMP), PPROF_TMPDIR=TMP)


def sh(command):
    return shell(command, dict(ENV, PYFLAME_PPROF=BIN, TMP=TMP), TMP)


def folded_counts(path):
    """stack text (root first, ';'-joined) -> summed count, as pyflame-pprof reads the file."""
    counts = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as f:
        for stack, count in parsed_counts(f.read(), written=True).items():
            # Names are made valid UTF-8 without XML-forbidden C0 controls (sanitize_utf8), as in pyflame-speedscope.
            counts[re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", stack.rstrip(";"))] += count
    return counts


def pprof_raw_counts(profile, expected_frames):
    """stack text -> summed value from `go tool pprof -raw`. A location prints as `NAME FILE:LINE s=0`, ambiguous
    when names or files hold spaces: the split that gives a frame of the input is taken (any other fails the test)."""
    rc, out, err = sh(f"go tool pprof -raw {profile}")
    assert rc == 0, err
    text = out.decode()
    samples_part, _, rest = text.partition("\nLocations\n")
    locations_part = rest.split("\nMappings\n")[0]
    locations = {}
    for line in locations_part.splitlines():
        m = re.match(r"^\s*(\d+): 0x0 (?:M=\d+ )?(.*) s=\d+(?:\(\))?$", line)
        assert m, f"unexpected location line {line!r}"
        body = m.group(2)
        lm = re.match(r"^(.*):(\d+)$", body)
        assert lm, f"no line number in {line!r}"
        head, number = lm.group(1), int(lm.group(2))
        candidates = [frame_text(head[:i], head[i + 1:], number) for i in range(len(head)) if head[i] == " "]
        chosen = next((c for c in candidates if c in expected_frames), candidates[0] if candidates else head)
        locations[int(m.group(1))] = chosen
    counts = collections.Counter()
    current = None
    for line in samples_part.split("Samples:\n", 1)[1].splitlines()[1:]:
        m = re.match(r"^\s*(\d+): ([\d ]*)$", line)
        if m:
            ids = [int(i) for i in m.group(2).split()]
            current = [int(m.group(1)), [locations[i] for i in reversed(ids)], {}]
            samples.append(current)
            continue
        lm = re.match(r"^\s+(.*)$", line)
        assert lm and current is not None, f"unexpected sample line {line!r}"
        labels = lm.group(1)
        pm = re.match(r'^(?:process:\[(.*?")\]\s*)?(?:thread:\[(.*)\])?$', labels)
        assert pm, f"unexpected labels {labels!r}"
        current[2] = {"process": pm.group(1), "thread": pm.group(2)}
    for value, frames, labels in samples:
        roots = [labels[k] for k in ("process", "thread") if labels.get(k)]
        counts[";".join(roots + frames)] += value
    return counts


samples = []


def compare(name, extra=""):
    source = INPUTS[name]
    expected = folded_counts(source)
    frames = {f for stack in expected for f in stack.split(";")}
    out = os.path.join(TMP, f"{name}.pb.gz")
    rc, _, err = sh(f"$PYFLAME_PPROF {extra} {source} > {out}")
    assert rc == 0, err
    assert open(out, "rb").read(2) == b"\x1f\x8b", "not gzip"
    samples.clear()
    got = pprof_raw_counts(out, frames)
    missing = set(expected) - set(got)
    extra_stacks = set(got) - set(expected)
    assert not missing and not extra_stacks, f"missing {sorted(missing)[:3]} extra {sorted(extra_stacks)[:3]}"
    for stack, count in expected.items():
        assert got[stack] == round(count), f"{stack}: {got[stack]} != {count}"
    return expected


for case in INPUTS:
    check(f"{case}: go tool pprof -raw gives back every stack and count")(lambda case=case: compare(case))


@check("--interval 1ms: cpu/nanoseconds, values count * 1e6, -top total agrees")
def _():
    expected = folded_counts(INPUTS["app"])
    out = os.path.join(TMP, "timed.pb.gz")
    rc, _, err = sh(f"$PYFLAME_PPROF --interval 1ms -o {out} {INPUTS['app']}")
    assert rc == 0, err
    rc, raw, err = sh(f"go tool pprof -raw {out}")
    assert rc == 0 and b"PeriodType: cpu nanoseconds" in raw and b"cpu/nanoseconds" in raw, raw[:300]
    rc, top, err = sh(f"go tool pprof -top -nodecount=1 {out}")
    assert rc == 0, err
    total_ms = sum(expected.values())
    m = re.search(r"of ([\d.]+)(\w+) total", top.decode())
    assert m, top.decode()
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1, "s": 1e3, "mins": 6e4, "hrs": 3.6e6}[m.group(2)]
    assert abs(float(m.group(1)) * scale - total_ms) <= total_ms * 5e-3, f"{m.group(0)} vs {total_ms} ms"


@check("-o FILE.gz and stdout give the same profile; gzip input and several files are read")
def _():
    gz_input = os.path.join(TMP, "app.folded.gz")
    with open(INPUTS["app"], "rb") as f, gzip.open(gz_input, "wb") as g:
        g.write(f.read())
    a, b = os.path.join(TMP, "a.pb.gz"), os.path.join(TMP, "b.pb")
    rc, _, err = sh(f"$PYFLAME_PPROF -o {a} < {gz_input} && $PYFLAME_PPROF {INPUTS['app']} > {b}")
    assert rc == 0, err
    assert gzip.open(a).read() == gzip.open(b).read()
    rc, _, err = sh(f"cat {INPUTS['app']} {INPUTS['threads']} | $PYFLAME_PPROF > {TMP}/cat.pb.gz && "
                    f"$PYFLAME_PPROF {INPUTS['app']} {INPUTS['threads']} > {TMP}/two.pb.gz")
    assert rc == 0, err
    assert gzip.open(f"{TMP}/cat.pb.gz").read() == gzip.open(f"{TMP}/two.pb.gz").read()


@check("bad input: warnings and exit codes (--strict 2, empty 2, missing file)")
def _():
    bad = os.path.join(TMP, "bad.folded")
    open(bad, "w").write("a;b 3\nno count here\n")
    rc, _, err = sh(f"$PYFLAME_PPROF {bad} > /dev/null")
    assert rc == 0 and "pyflame-pprof:" in err and "invalid" in err, err
    rc, _, err = sh(f"$PYFLAME_PPROF --strict {bad} > /dev/null")
    assert rc == 2 and f"{bad}:2:" in err, (rc, err)
    rc, _, err = sh("printf '' | $PYFLAME_PPROF > /dev/null")
    assert rc == 2 and "no stack counts" in err, (rc, err)
    rc, _, err = sh(f"$PYFLAME_PPROF {TMP}/nope.folded > /dev/null")
    assert rc != 0 and "nope.folded" in err, (rc, err)


@check("a real Python program's cProfile dump, through pyfold-collapse, survives the round trip")
def _():
    collapse = os.path.join(os.path.dirname(BIN), "pyfold-collapse")
    if not os.path.exists(collapse):
        return
    prog = os.path.join(TMP, "prog.py")
    open(prog, "w").write("import json\n"
                          "def work(n):\n    return sum(len(json.dumps(list(range(i % 50)))) for i in range(n))\n"
                          "def rec(d):\n    return work(200) if d == 0 else rec(d - 1)\n"
                          "for _ in range(20): rec(8)\n")
    rc, _, err = sh(f"python3 -m cProfile -o {TMP}/prog.pstats {prog} && "
                    f"{collapse} --format pstats {TMP}/prog.pstats > {TMP}/prog.folded")
    assert rc == 0, err
    INPUTS["prog"] = f"{TMP}/prog.folded"
    compare("prog")


shutil.rmtree(TMP, ignore_errors=True)
finish()
