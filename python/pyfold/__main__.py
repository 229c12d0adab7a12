"""python -m pyfold ARGS: runs the pyfold binary that was installed with this package (pip puts it in the
environment's scripts directory, beside python), or else the first one on PATH."""
import os
import shutil
import sys
import sysconfig


def binary():
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        candidate = os.path.join(scripts, "pyfold")
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("pyfold")


def main():
    path = binary()
    if path is None:
        sys.exit("python -m pyfold: the pyfold binary is not installed (pip install pyfold puts it beside python)")
    os.execv(path, ["pyfold"] + sys.argv[1:])


if __name__ == "__main__":
    main()
