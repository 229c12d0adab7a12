#!/usr/bin/env python3
"""End-to-end tests of what CPython's own profiling tools write, made now by each interpreter that has them, through
pyfold collapse and pyflame-svg:
- `perf script` of a run with `-X perf` (perf map trampolines; checked on 3.15, whose build keeps frame pointers)
  and of one with `-X perf_jit` (3.13+: jitdump, `perf inject --jit`, DWARF unwinding);
- 3.15's sampling profiler (`-m profiling.sampling run`): its `--collapsed` output, read as is (it is folded already),
  and its `--pstats` dump.
On each, the workload's known chain <module>;top;mid;leaf must carry most of the samples.

Interpreters: tests/pythons/pythons.py (pyenv, Debian's 3.13-3.15 from tests/pythons/fetch.sh). perf checks are
skipped with a message where `perf record` cannot record (perf missing, or perf_event_paranoid forbids it).
Exit 77 when nothing ran.

Usage: cpython_tools_test.py PYFOLD_COLLAPSE PYFLAME_SVG
"""
import os
import shutil
import subprocess
import sys
import tempfile

from harness import TARGETS, check, finish, interpreters, once, parse_folded, split_frame, svg_frames, write

COLLAPSE, SVG = (os.path.abspath(a) for a in sys.argv[1:3])
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-cpython-tools-")

SCRIPT = os.path.join(TARGETS, "top_mid_leaf.py")
CHAIN = ["top", "mid", "leaf"]  # leaf holds nearly all the time, under top -> mid


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, **kw)
    assert r.returncode == 0, f"{' '.join(args[:4])}...: exit {r.returncode}: {r.stderr.decode(errors='replace')[-400:]}"
    return r.stdout


def stacks_of(folded):
    return parse_folded(folded, split=False, number=float)


def python_stacks(data, text):
    """The stacks of `perf script` of data (written to text) through pyfold collapse --python-only."""
    write(text, run(["perf", "script", "-i", data]))
    return stacks_of(run([COLLAPSE, "--python-only", text]))


def chain_share(stacks, name_of):
    """The share of the samples whose frames contain top, mid, leaf in that order (names through name_of)."""
    total = sum(c for _, c in stacks)
    assert total > 0, "no samples"
    hit = 0
    for frames, count in stacks:
        names = [name_of(f) for f in frames]
        if any(names[i:i + 3] == CHAIN for i in range(len(names))):
            hit += count
    return hit / total


def perf_works():
    if not shutil.which("perf"):
        return "perf is not installed (Debian: linux-perf)"
    r = subprocess.run(["perf", "record", "-q", "-o", os.path.join(TMP, "probe.data"), "--", "true"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"perf record cannot record here: {r.stderr.strip()[-200:]}"
    return None


def perf_checks(label, python, minor, work):
    script = SCRIPT
    pyfold_name = lambda frame: split_frame(frame)[0]  # noqa: E731

    # perf -g unwinds through the interpreter by frame pointers: 3.15 keeps them (its builds use
    # -fno-omit-frame-pointer), so the whole chain shows. Builds of 3.12-3.14 without them (pyenv's, Debian's) give
    # perf no Python frames, or only the innermost one: nothing to check pyfold against there.
    if minor >= 15:
        @check(f"{label}: perf script of -X perf (perf map): --python-only gives <module>;top;mid;leaf")
        def _():
            data = os.path.join(work, "perf.data")
            run(["perf", "record", "-q", "-F", "499", "-g", "-o", data, "--", python, "-X", "perf", script], cwd=work)
            stacks = python_stacks(data, os.path.join(work, "perf.txt"))
            share = chain_share(stacks, pyfold_name)
            assert share > 0.6, f"top;mid;leaf in {share:.0%} of the samples"
            assert any(f == f"leaf ({script})" for s, _ in stacks for f in s), "no frame `leaf (FILE)`"

    if minor >= 13:
        @check(f"{label}: perf script of -X perf_jit (jitdump, perf inject --jit): <module>;top;mid;leaf")
        def _():
            data, injected = os.path.join(work, "jit.data"), os.path.join(work, "jit.injected.data")
            run(["perf", "record", "-q", "-F", "299", "-k", "1", "--call-graph", "dwarf", "-o", data, "--", python,
                 "-X", "perf_jit", script], cwd=work)
            run(["perf", "inject", "--jit", "-i", data, "-o", injected], cwd=work)
            stacks = python_stacks(injected, os.path.join(work, "jit.txt"))
            share = chain_share(stacks, pyfold_name)
            assert share > 0.6, f"top;mid;leaf in {share:.0%} of the samples"


def sampler_checks(label, python, work):
    """3.15's own sampler: `--collapsed` is folded text (frames FILE:FUNCTION:LINE under a tid:N root)."""
    script = SCRIPT

    @once
    def collapsed():
        path = os.path.join(work, "sampler.folded")
        run([python, "-m", "profiling.sampling", "run", "-r", "1khz", "--collapsed", "-o", path, script], cwd=work)
        return path
    sampler_name = lambda frame: frame.split(":")[1] if frame.count(":") >= 2 else frame  # noqa: E731

    @check(f"{label}: profiling.sampling --collapsed is read as is by pyfold collapse and drawn by pyflame-svg")
    def _():
        original = open(collapsed(), "rb").read()
        assert original.strip(), "the sampler wrote nothing"
        stacks = stacks_of(original)
        assert all(s[0].startswith("tid:") for s, _ in stacks), "no tid:N root frames"
        share = chain_share(stacks, sampler_name)
        assert share > 0.6, f"top;mid;leaf in {share:.0%} of the sampler's own samples"
        through = run([COLLAPSE, collapsed()])
        assert sorted(through.splitlines()) == sorted(original.splitlines()), "pyfold collapse changed the stacks"
        piped = run([COLLAPSE, "-"], input=original)
        assert sorted(piped.splitlines()) == sorted(original.splitlines()), "stdin differs from the file"
        svg = run([SVG], input=through)
        frames = svg_frames(svg)
        total = sum(c for _, c in stacks)
        assert frames[0][1] == total, f"the SVG's root holds {frames[0][1]} samples, the input {total}"
        leaf = [f for f in frames if sampler_name(f[0]) == "leaf"]
        assert leaf and f"{os.path.basename(script)}:leaf:" in leaf[0][0], [f[0] for f in frames][:10]

    @check(f"{label}: profiling.sampling --pstats dump: pyfold collapse gives <module>;top;mid;leaf")
    def _():
        dump = os.path.join(work, "sampler.pstats")
        run([python, "-m", "profiling.sampling", "run", "-r", "1khz", "--pstats", "-o", dump, script], cwd=work)
        stacks = stacks_of(run([COLLAPSE, "--format", "pstats", dump]))
        share = chain_share(stacks, lambda frame: split_frame(frame)[0])
        assert share > 0.6, f"top;mid;leaf in {share:.0%} of the time"


def main():
    found = interpreters(debian_static=False, minors=range(13, 16))
    no_perf = perf_works()
    if no_perf:
        print(f"skip - perf checks: {no_perf}")
    for python in found:
        work = os.path.join(TMP, python.label)
        os.makedirs(work, exist_ok=True)
        if not no_perf:
            perf_checks(python.label, python.path, python.minor, work)
        if python.minor >= 15:
            sampler_checks(python.label, python.path, work)
    shutil.rmtree(TMP, ignore_errors=True)
    finish(skip_reason="nothing tested: no CPython 3.13+ with perf, and no 3.15")


main()
