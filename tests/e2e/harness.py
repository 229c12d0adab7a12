"""What every end-to-end script (and tests/bench/) shares: named checks that record failures instead of stopping, the
interpreters to test, folded lines read back by one frame-text rule, the real binaries run in pipes, and the exit
status that meson reads.

One check alone: every script takes `-k REGEX` (run only the checks whose name matches) and `--list` (print the
names, run nothing) after its own arguments, e.g. `meson test -C build e2e-record --test-args '-k nesting'`;
PYFOLD_E2E_ONLY=REGEX does the same as -k. Nothing matched: exit 77 (SKIP). A check that needs a recording makes
it itself, so each runs alone."""
import contextlib
import functools
import os
import re
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "targets")  # the workload programs, shared with tests/bench
sys.path.insert(0, os.path.join(HERE, "..", "pythons"))
import pythons  # noqa: E402

failures = []
# name -> what the failed check said: repeated at the end, which is what a CI log that keeps only the last lines shows
reasons = {}
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}


def _take_options(argv):
    """Removes -k REGEX / -kREGEX / --list from argv (the scripts read their own arguments by position)."""
    only, listing, rest, i = os.environ.get("PYFOLD_E2E_ONLY") or None, False, [], 0
    while i < len(argv):
        if argv[i] == "--list":
            listing = True
        elif argv[i] == "-k" and i + 1 < len(argv):
            only, i = argv[i + 1], i + 1
        elif argv[i].startswith("-k") and len(argv[i]) > 2:
            only = argv[i][2:]
        else:
            rest.append(argv[i])
        i += 1
    argv[:] = rest
    return (re.compile(only) if only else None), listing


# (tests/bench's scripts, which import this module too, keep their own options)
ONLY, LIST = _take_options(sys.argv) if os.path.dirname(os.path.abspath(sys.argv[0])) == HERE else (None, False)
ran = 0


def check(name):
    """Decorator: runs the function at once; an AssertionError marks the check failed, and the script goes on."""
    def wrap(fn):
        run_check(name, fn)
        return fn
    return wrap


def run_check(name, fn):
    global ran
    if ONLY and not ONLY.search(name):
        return
    ran += 1
    if LIST:
        print(name)
        return
    try:
        fn()
        print(f"ok   - {name}")
    except AssertionError as e:
        failures.append(name)
        reasons[name] = str(e)
        print(f"FAIL - {name}: {e}")
    except Exception as e:  # a check that broke is that check's failure: the others still run
        failures.append(name)
        reasons[name] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}"
        print(f"FAIL - {name}: {reasons[name]}")


_later = []


def run_check_again_later(name, fn):
    """run_check for a check that compares separate runs of a program, which a burst of load on the machine can set
    apart for seconds: a first failure is said, and the check runs once more at run_checks_left(), after the checks
    in between. A fault of pyfold's fails both runs."""
    global ran
    if ONLY and not ONLY.search(name) or LIST:
        run_check(name, fn)
        return
    try:
        fn()
        ran += 1
        print(f"ok   - {name}")
    except Exception as e:  # (AssertionError, or a check that broke)
        what = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
        print(f"     first run: {what}; once more later")
        _later.append((name, fn))


def run_checks_left():
    """The second runs of the checks run_check_again_later put off, each now a plain check."""
    while _later:
        name, fn = _later.pop(0)
        run_check(name + " (the second run, later)", fn)


def once(fn):
    """A recording several checks read, made by the first of them that runs (so each check runs alone too); its
    failure is each such check's failure, without recording again."""
    made = {}

    @functools.wraps(fn)
    def get(*args):
        if args not in made:
            try:
                made[args] = (fn(*args), None)
            except AssertionError as e:
                made[args] = (None, e)
        value, error = made[args]
        if error:
            raise AssertionError(f"(as before) {error}")
        return value
    return get


def made_again(attempt, complete, why, tries=3):
    """attempt() made again, up to `tries` times, while complete(result) is false: a run on a loaded machine (CI runs
    suites side by side) whose sampler attached late or got the CPU too seldom misses what it should have seen. why
    (result) is printed before each new attempt. Returns the last result: what a check asserts of it is never
    retried, and an attempt that raises fails at once."""
    for n in range(tries):
        result = attempt()
        if complete(result) or n == tries - 1:
            return result
        print(f"# {why(result)}; again")


def finish(skip_reason=None):
    """Exits 1 when any check failed (after listing them), 77 (SKIP) when none ran (-k matched nothing, or
    skip_reason says why nothing could run), else 0."""
    if failures:
        for name in failures:
            reason = reasons.get(name, "")
            print(f"failed: {name}" + (f": {reason[:1500]}" if reason else ""))
        print(f"{len(failures)} failed: " + "; ".join(failures))
        sys.exit(1)
    if not ran:
        print("skip - " + (skip_reason or (f"no check matches -k {ONLY.pattern}" if ONLY else "no check ran")))
        sys.exit(77)
    sys.exit(0)


# ---- the interpreters -------------------------------------------------------------------------------------------

def interpreters(debian_static=True, minors=pythons.MINORS):
    """Every CPython to test (tests/pythons/pythons.py: .label, .path, .minor), in version order; a missing one is a
    skip line, or a failure when PYFOLD_REQUIRE_PYTHONS names it."""
    before = len(pythons.failures)
    found = pythons.find(debian_static=debian_static, minors=minors)
    failures.extend(pythons.failures[before:])
    return found


# ---- frame text and folded lines (the C++ side: src/core/frame_text.cpp) ----------------------------------------

_LINE = re.compile(r"(.+):([0-9]+)")


_THREAD_ROOT = re.compile(r"thread \((?:[0-9]+|0[xX][0-9a-fA-F]+)\)(?:: .*)?")


def split_frame(text):
    """(function, file, line) of `function (file:line)` or `function (file)`: the file is inside the last " (" of
    a frame that ends with ")" (a path may hold " (", a function name never does), the line its trailing `:DIGITS`;
    a thread root (`thread (TID)`, `thread (0xIDENT)`, with `: NAME` or not: frame_text's is_thread_frame) and
    anything else (`[native stack cut short]`) is (text, "", 0)."""
    at = text.rfind(" (") if text.endswith(")") and not _THREAD_ROOT.fullmatch(text) else -1
    if at < 0:
        return text, "", 0
    file = text[at + 2:-1]
    m = _LINE.fullmatch(file)
    return (text[:at], m.group(1), int(m.group(2))) if m else (text[:at], file, 0)


def frame_text(function, file="", line=0):
    """The frame's folded text, as pyfold writes it (append_frame_text): `function (file:line)`, `function (file)`
    or `function`."""
    if not file:
        return function
    return f"{function} ({file}:{line})" if line > 0 else f"{function} ({file})"


_COUNT = {int: re.compile(r"[0-9]+"), float: re.compile(r"[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?")}


def parse_folded(text, split=True, number=int, written=False, bare=None):
    """[(frames, count)] of each line of folded text (str or bytes), in order: the frames root first, each
    (function, file, line) by split_frame, or its text with split=False. Asserts that every line ends in a count
    (a whole number, or any number with number=float) over 0; written=True (a file written by hand) skips blank
    lines and `# ` comments. bare: the prefixes a frame without `(file)` may start with (None: any)."""
    if isinstance(text, bytes):
        text = text.decode()
    stacks = []
    for line in text.splitlines():
        if written and (not line.strip() or line.startswith("# ")):
            continue
        parts = line.rsplit(None, 1) if written else line.rsplit(" ", 1)
        stack, count = parts if len(parts) == 2 else ("", "")
        assert stack and _COUNT[number].fullmatch(count) and number(count) > 0, f"bad count in {line!r}"
        frames = stack.split(";")
        if split:
            frames = [split_frame(f) for f in frames]
            if bare is not None:
                wrong = [f[0] for f in frames if not f[1] and not f[0].startswith(tuple(bare))]
                assert not wrong, f"bad frame {wrong[0]!r}"
        stacks.append((frames, number(count)))
    return stacks


def folded_counts(text, number=float, written=False):
    """{stack text: summed count} of folded text (the same stack twice is summed)."""
    counts = {}
    for frames, count in parse_folded(text, split=False, number=number, written=written):
        stack = ";".join(frames)
        counts[stack] = counts.get(stack, 0) + count
    return counts


def total(stacks):
    return sum(c for _, c in stacks)


def share(stacks, predicate):
    """The share of the samples whose frames satisfy predicate."""
    assert total(stacks) > 0, "no samples"
    return sum(c for f, c in stacks if predicate(f)) / total(stacks)


# ---- running the real binaries ----------------------------------------------------------------------------------

def run(argv, timeout=60, text=True, **kw):
    """Runs a binary; returns (exit code, stdout, stderr) as text (stderr with bad bytes replaced)."""
    r = subprocess.run(argv, capture_output=True, timeout=timeout, **kw)
    out = r.stdout.decode("utf-8") if text else r.stdout
    return r.returncode, out, r.stderr.decode("utf-8", "replace")


def shell(command, env, cwd, **kw):
    """Runs a bash pipeline with env added to the environment; returns (exit code, stdout bytes, stderr text)."""
    r = subprocess.run(["bash", "-c", command], capture_output=True, env=dict(os.environ, **env), cwd=cwd, **kw)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


@contextlib.contextmanager
def running(argv, ready="stdout", **kw):
    """A program started for the length of a with block and killed at its end; ready: the stream on which it prints
    READY once it is ready ("stdout", "stderr"; None: do not wait)."""
    if ready:
        kw[ready] = subprocess.PIPE
    p = subprocess.Popen(argv, **kw)
    try:
        if ready:
            assert getattr(p, ready).readline().strip() == b"READY"
        yield p
    finally:
        p.kill()
        p.wait()


def write(path, data):
    """Writes data (str or bytes) to path; returns path."""
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


def never_left_stopped(python, sleeper, record):
    """Starts sleeper (a script that prints READY, then sleeps) under python; five times starts record + ["--pid",
    PID] and SIGKILLs it 0.05-0.5 s later, in the middle of a sample at some point; asserts each time that no thread
    of the sleeper is left stopped (t, T) or traced."""
    with running([python, sleeper]) as p:
        for delay in (0.05, 0.13, 0.21, 0.34, 0.5):
            r = subprocess.Popen(record + ["--pid", str(p.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            r.kill()
            r.wait()
            time.sleep(0.05)
            for tid in os.listdir(f"/proc/{p.pid}/task"):
                with open(f"/proc/{p.pid}/task/{tid}/status") as f:
                    status = f.read()
                state = re.search(r"^State:\s+(\S)", status, re.M).group(1)
                tracer = re.search(r"^TracerPid:\s+(\d+)", status, re.M).group(1)
                assert state not in ("t", "T") and tracer == "0", (delay, tid, state, tracer)


def svg_titles(svg_bytes):
    """The tooltip title of every frame of a pyflame-svg SVG (parsing proves it is well-formed XML)."""
    root = ET.fromstring(svg_bytes)
    return [g.find("svg:title", SVG_NS).text for g in root.find("svg:g[@id='frames']", SVG_NS)]


def svg_frames(svg_bytes):
    """(name, samples, delta percent or None) of every frame, from the titles `NAME (N samples, P%[; +D%])`."""
    out = []
    for title in svg_titles(svg_bytes):
        m = re.match(r"^(.*) \(([\d,]+) \w+, [\d.]+%(; ([-+\d.]+)%)?\)$", title, re.S)
        assert m, f"bad title {title!r}"
        out.append((m.group(1), int(m.group(2).replace(",", "")), m.group(4)))
    return out
