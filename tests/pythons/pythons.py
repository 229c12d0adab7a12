"""The CPython interpreters the tests run on, found in one place for every test (e2e-record, e2e-pstats,
record-layouts):
- pyenv's newest 3.X.* under $(pyenv root)/versions (labelled "3.X");
- Debian's builds of 3.13-3.15 unpacked by tests/pythons/fetch.sh (labelled "3.X-debian", or "3.X" when pyenv has
  no 3.X), started through their own loader;
- else a python3.X on PATH (not /usr/bin, not a pyenv shim);
- Debian 12's own static, non-PIE /usr/bin/python3.11 ("3.11-debian-static").

PYFOLD_REQUIRE_PYTHONS (set by .ci/run) lists what must be present: minor versions ("3.8,...,3.15": any interpreter
of that version) and labels ("3.11-debian-static"). A required one that is missing is a failure with a message;
outside CI a missing one is a skip line.
"""
import functools
import glob
import os
import shutil
import subprocess
from collections import namedtuple

Python = namedtuple("Python", "label path minor")
MINORS = range(8, 16)
HERE = os.path.dirname(os.path.abspath(__file__))

failures = []  # messages about required interpreters that are missing


def required():
    return [r.strip() for r in os.environ.get("PYFOLD_REQUIRE_PYTHONS", "").split(",") if r.strip()]


@functools.lru_cache(maxsize=None)
def pyenv_root():
    """pyenv's root: $PYENV_ROOT, else what `pyenv root` says, else ~/.pyenv."""
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    try:
        r = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    except OSError:
        pass
    return os.path.expanduser("~/.pyenv")


def pyenv_pythons(version):
    """pyenv's builds of version (e.g. "3.11", "2.7"), oldest first: the paths of their bin/pythonX.Y."""
    paths = glob.glob(os.path.join(pyenv_root(), "versions", f"{version}.*", "bin", f"python{version}"))
    return sorted(paths, key=lambda p: [int(x) for x in p.split(os.sep)[-3].split(".") if x.isdigit()])


def fetched_dir():
    """Where tests/pythons/fetch.sh puts its wrappers (it says so itself: one place for the location)."""
    r = subprocess.run(["bash", os.path.join(HERE, "fetch.sh"), "--where"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def missing(label, why):
    """Reports a missing interpreter: a failure when PYFOLD_REQUIRE_PYTHONS names it (or its minor), else a skip."""
    minor = label.split("-")[0]
    if label in required() or minor in required():
        failures.append(f"{label}: {why}")
        print(f"FAIL - CPython {label} is required (PYFOLD_REQUIRE_PYTHONS) but {why}; "
              f"run tests/pythons/fetch.sh for 3.13-3.15")
    else:
        print(f"skip - CPython {label}: {why}")


def find(debian_static=True, minors=MINORS):
    """Every interpreter to test, in version order; prints a skip (or, when required, FAIL) line for each missing."""
    found = []
    fetched = fetched_dir()
    for minor in minors:
        version = f"3.{minor}"
        of_minor = []
        pyenv = pyenv_pythons(version)
        if pyenv:
            of_minor.append(Python(version, pyenv[-1], minor))
        wrapper = os.path.join(fetched, f"python{version}") if fetched else ""
        if wrapper and os.access(wrapper, os.X_OK):
            of_minor.append(Python(version + "-debian" if of_minor else version, wrapper, minor))
        if not of_minor:
            path = shutil.which(f"python{version}")
            if path and "/usr/bin/" not in path and "/.pyenv/shims/" not in path:
                of_minor.append(Python(version, path, minor))
        if not of_minor:
            missing(version, "not installed (neither pyenv nor tests/pythons/fetch.sh nor PATH has it)")
        found += of_minor
    if debian_static:
        if os.path.exists("/usr/bin/python3.11"):
            found.append(Python("3.11-debian-static", "/usr/bin/python3.11", 11))
        else:
            missing("3.11-debian-static", "/usr/bin/python3.11 is not installed")
    # A required name this search does not know (a typo, or a version after 3.15) is never silently met.
    have = {p.label for p in found} | {f"3.{p.minor}" for p in found}
    for name in required():
        version, _, kind = name.partition("-")
        minor = int(version.split(".")[1]) if version.count(".") == 1 and version.split(".")[1].isdigit() else None
        if (minor is not None and minor not in minors and minor in MINORS) or (kind and not debian_static):
            continue  # not asked for in this search
        if name not in have and not any(name in f for f in failures):
            missing(name, "not among the interpreters the tests look for")
    return found
