"""What every end-to-end script shares: named checks that record failures instead of stopping, shell pipelines
run with the binaries under test in the environment, and the exit status that meson reads."""
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

failures = []
SVG_NS = {"svg": "http://www.w3.org/2000/svg"}


def check(name):
    """Decorator: runs the function at once; an AssertionError marks the check failed, and the script goes on."""
    def wrap(fn):
        run_check(name, fn)
        return fn
    return wrap


# PYFOLD_E2E_ONLY=REGEX: run only the checks whose name matches (while working on one; a check that needs an
# earlier one's result may then fail).
ONLY = re.compile(os.environ["PYFOLD_E2E_ONLY"]) if os.environ.get("PYFOLD_E2E_ONLY") else None
ran = 0


def run_check(name, fn):
    global ran
    if ONLY and not ONLY.search(name):
        return
    ran += 1
    try:
        fn()
        print(f"ok   - {name}")
    except AssertionError as e:
        failures.append(name)
        print(f"FAIL - {name}: {e}")


def shell(command, env, cwd, **kw):
    """Runs a bash pipeline with env added to the environment; returns (exit code, stdout bytes, stderr text)."""
    r = subprocess.run(["bash", "-c", command], capture_output=True, env=dict(os.environ, **env), cwd=cwd, **kw)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def never_left_stopped(python, sleeper, record):
    """Starts sleeper (a script that prints READY, then sleeps) under python; five times starts record + ["--pid",
    PID] and SIGKILLs it 0.05-0.5 s later, in the middle of a sample at some point; asserts each time that no thread
    of the sleeper is left stopped (t, T) or traced."""
    p = subprocess.Popen([python, sleeper], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline().strip() == b"READY"
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
    finally:
        p.kill()
        p.wait()


def finish():
    """Exits 1 when any check failed (after listing them), else 0 (77, SKIP, when PYFOLD_E2E_ONLY left none)."""
    if failures:
        print(f"{len(failures)} failed: " + "; ".join(failures))
    sys.exit(1 if failures else 77 if ONLY and not ran else 0)


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
