"""What every end-to-end script shares: named checks that record failures instead of stopping, shell pipelines
run with the binaries under test in the environment, and the exit status that meson reads."""
import os
import subprocess
import sys

failures = []


def check(name):
    """Decorator: runs the function at once; an AssertionError marks the check failed, and the script goes on."""
    def wrap(fn):
        run_check(name, fn)
        return fn
    return wrap


def run_check(name, fn):
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


def finish():
    """Exits 1 when any check failed (after listing them), else 0."""
    if failures:
        print(f"{len(failures)} failed: " + "; ".join(failures))
    sys.exit(1 if failures else 0)
