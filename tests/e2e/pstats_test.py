#!/usr/bin/env python3
"""End-to-end tests of the pstats collapser on dumps made now, by every Python on the machine and every writer (the profile module's two on four versions):
`-m cProfile -o`, `cProfile.run`, `Profile.enable()/disable()` + `Stats.dump_stats`, `Stats.strip_dirs().dump_stats`,
`-m profile -o`, `profile.run`, and a yappi-style dump (no yappi here: the same layout, a plain dict written with
marshal by hand, as yappi's convert2pstats + dump_stats makes). The program imports modules (at the top and lazily,
through importlib), recurses directly (fib) and mutually (ping/pong), re-enters through exec and eval, and runs
generators. On each dump, for EVERY function (pstats_rules.py, pyfold-collapse(1) "How pstats stacks are built"):
- with --prune 0: (a) its self time is its tottime (within a count a line), (b) a function that does not call itself
  is drawn for at most its cumtime and an edge for at most its cumtime, (c) every pair of adjacent frames is an edge;
- by default: Σ counts == round(Σ tottime × 1e6), no function drawn with more self time than its tottime (what is
  pruned is under [pruned] leaves), (b) and (c);
- with --weight calls: each function's primitive calls on the stacks that end at it;
and the known call chains appear. PYFOLD_E2E_REPORT=1 prints each dump's largest self-time error.

Usage: pstats_test.py FOLD_COMMAND... (a command that takes a dump path last and writes folded lines:
       build/src/pyfold-collapse --format pstats)
Pythons: $(pyenv root)/versions/*/bin/python, Debian's 3.13-3.15 from tests/pythons/fetch.sh (a missing one is
skipped, or fails when PYFOLD_REQUIRE_PYTHONS names it) and /usr/bin/python3; exit 77 when there is none.
"""
import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import TARGETS, finish, interpreters as cpythons, parse_folded, pythons, run_check, write
import pstats_rules

FOLD = [os.path.abspath(sys.argv[1])] + sys.argv[2:]
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-pstats-")
REPORT = os.environ.get("PYFOLD_E2E_REPORT")


# A yappi-style dump: the stats of a cProfile run rebuilt as a plain dict and written with marshal (the layout
# yappi's convert2pstats produces; its bytes differ from cProfile's: no shared objects).
YAPPI_STYLE = ("import cProfile, marshal, pstats, prog\n"
               "p = cProfile.Profile(); p.enable(); prog.main(); p.disable()\n"
               "s = pstats.Stats(p).stats\n"
               "plain = dict((tuple(k), (cc, nc, float(tt), float(ct), dict((tuple(c), tuple(v)) for c, v in cs.items())))\n"
               "             for k, (cc, nc, tt, ct, cs) in s.items())\n"
               "marshal.dump(plain, open('{out}', 'wb'))")

# Each writer: (name, how the dump is made). {out} is the dump path; prog.py defines main().
WRITERS = {
    "cprofile-o": ["-m", "cProfile", "-o", "{out}", "run_main.py"],
    "profile-o": ["-m", "profile", "-o", "{out}", "run_main.py"],
    "cprofile-run": ["-c", "import cProfile, prog; cProfile.run('prog.main()', '{out}')"],
    "profile-run": ["-c", "import profile, prog; profile.run('prog.main()', '{out}')"],
    "enable-dump_stats": ["-c", "import cProfile, pstats, prog\n"
                                "p = cProfile.Profile(); p.enable(); prog.main(); p.disable()\n"
                                "pstats.Stats(p).dump_stats('{out}')"],
    "strip_dirs-dump_stats": ["-c", "import cProfile, pstats, prog\n"
                                    "p = cProfile.Profile(); p.enable(); prog.main(); p.disable()\n"
                                    "pstats.Stats(p).strip_dirs().dump_stats('{out}')"],
    "yappi-style": ["-c", YAPPI_STYLE],
}


PROFILE_MODULE_VERSIONS = {"2.7", "3.8", "3.12", "3.15"}


def interpreters():
    """Every pyenv version (2.7 and 3.7 too), Debian's 3.13-3.15 and its /usr/bin/python3.11."""
    found = sorted(glob.glob(os.path.join(pythons.pyenv_root(), "versions", "*", "bin", "python")))
    # Debian's 3.13-3.15 (tests/pythons/fetch.sh) and any other newer CPython pyenv lacks (tests/pythons/pythons.py).
    seen = {os.path.basename(os.path.dirname(os.path.dirname(p)))[:4].rstrip(".") for p in found}
    for python in cpythons(debian_static=False, minors=range(13, 16)):
        if python.label.endswith("-debian") or python.label not in seen:
            found.append(python.path)
    # Debian's own Python (not a pyenv shim on PATH, which may point nowhere)
    if os.path.exists("/usr/bin/python3.11"):
        found.append("/usr/bin/python3.11")
    return found


def fold(dump, *options):
    folded = subprocess.run(FOLD + list(options) + [dump], capture_output=True, text=True)
    assert folded.returncode == 0, f"exit {folded.returncode}: {folded.stderr[-300:]}"
    return parse_folded(folded.stdout, split=False)


def run_case(python, writer, args):
    work = os.path.join(TMP, f"{python.strip('/').replace('/', '_')}-{writer}")
    os.makedirs(work, exist_ok=True)
    write(os.path.join(work, "prog.py"), open(os.path.join(TARGETS, "pstats_prog.py")).read())
    write(os.path.join(work, "run_main.py"), "import prog\nprog.main()\n")
    out = os.path.join(work, "dump.pstats")
    made = subprocess.run([python] + [a.replace("{out}", out) for a in args], cwd=work, capture_output=True)
    assert made.returncode == 0, f"making the dump failed: {made.stderr.decode(errors='replace')[-300:]}"
    stats = pstats_rules.dump_stats(python, out)
    total_us = sum(s[1] for s in stats)  # unrounded: a tie (x.5 µs; times are whole ns) may round either way

    exact = fold(out, "--prune", "0")
    broken = pstats_rules.check_rules(stats, exact)
    assert not broken, f"{len(broken)} rules broken with --prune 0, first: " + "; ".join(broken[:3])
    default = fold(out)
    counts = sum(c for _, c in default)
    # (1e-6: the float sum of the tottimes, 10576.4999999999996 for a true 10576.5, is not a rounding difference)
    assert abs(counts - total_us) <= 0.5 + 1e-6, f"sum of counts {counts} != sum of tottime {total_us} us, rounded"
    broken = [b for b in pstats_rules.check_rules(stats, default, exact_self=False)]
    self_time, _, _ = pstats_rules.totals(default)
    lines_ending_at = collections.Counter(s[-1] for s, _ in default)  # rounding allows one unit a line
    for frame, tt, *_ in stats:
        if self_time.get(frame, 0) > tt + 1 + lines_ending_at[frame]:
            broken.append(f"{frame}: self time {self_time[frame]} us over its tottime {tt:.1f} us")
    assert not broken, f"{len(broken)} rules broken by default, first: " + "; ".join(broken[:3])
    # --weight calls: each function's primitive calls, on stacks that end at it
    calls = fold(out, "--weight", "calls", "--prune", "0")
    called, _, _ = pstats_rules.totals(calls)
    by_frame = {}
    for frame, tt, ct, cc, *_ in stats:
        by_frame[frame] = by_frame.get(frame, 0) + max(cc, 0)
    lines_ending_at = collections.Counter(s[-1] for s, _ in calls)
    wrong = [f"{f}: {called.get(f, 0)} calls drawn, {cc} primitive calls" for f, cc in by_frame.items()
             if abs(called.get(f, 0) - cc) > 1 + lines_ending_at[f]]
    assert not wrong, f"{len(wrong)} functions' calls not kept, first: " + "; ".join(wrong[:3])
    if REPORT:
        for name, stacks in (("default", default), ("prune 0", exact)):
            err, where = pstats_rules.self_time_error(stats, stacks)
            print(f"  self-time error {name}: {err:.4f} ({where[:60]})")
    # prog.py's functions are keyed by a relative or absolute path, by version
    joined = [";".join(s) for s, _ in exact]
    for chain in (r"heavy \([^;]*prog\.py:17\);shared \([^;]*prog\.py:6\)",
                  r"light \([^;]*prog\.py:13\);shared \([^;]*prog\.py:6\)",
                  r"main \([^;]*prog\.py:\d+\);fib \([^;]*prog\.py:21\)",
                  r"ping \([^;]*prog\.py:25\);pong \([^;]*prog\.py:29\)",
                  r"consume \([^;]*prog\.py:\d+\);([^;]*sum[^;]*;)?squares \([^;]*prog\.py:\d+\)"):
        assert any(re.search(chain, s) for s in joined), f"no stack matches {chain}"


def main():
    found = interpreters()
    for python in found:
        version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True).stdout.strip()
        for writer, args in WRITERS.items():
            # The profile module is pure Python, its dumps the same on every version, and it runs the program
            # some 5x slower than cProfile: its two writers run on the oldest, a middle and the newest versions.
            if writer.startswith("profile-") and version not in PROFILE_MODULE_VERSIONS:
                continue
            if version == "2.7":
                args = [a.replace("p.enable(); prog.main(); p.disable()", "p.runcall(prog.main)") for a in args]
            run_check(f"{python} ({version}) {writer}", lambda: run_case(python, writer, args))
    shutil.rmtree(TMP, ignore_errors=True)
    finish(skip_reason="no Python found: nothing tested")


main()
