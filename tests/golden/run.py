#!/usr/bin/env python3
"""Golden-file tests: render each case in cases.txt and compare with its expected file byte for byte.

Usage: run.py TOOL=BINARY [TOOL=BINARY...]
A missing or different expected file fails the test. PYFOLD_BLESS=1 (re)writes the expected files instead: that
is the only way they are ever written. Review the diff (git diff tests/golden/results) before committing.
"""
import difflib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def slug(options):
    text = "_".join(options) if options else "default"
    return re.sub(r"[^A-Za-z0-9.%_-]+", "", text.replace("--", "").replace(" ", "_"))[:120] or "default"


def main():
    binaries = dict(arg.split("=", 1) for arg in sys.argv[1:])
    bless = os.environ.get("PYFOLD_BLESS") == "1"
    failures = blessed = passed = 0
    for raw in open(os.path.join(HERE, "cases.txt"), encoding="utf-8"):
        if not raw.strip() or raw.startswith("#"):
            continue
        tool, case, *options = raw.split()
        if tool not in binaries:
            continue
        data = os.path.join(HERE, "data", tool, case + ".folded")
        expected_path = os.path.join(HERE, "results", tool, f"{case}--{slug(options)}.svg")
        name = f"{tool} {case} {' '.join(options)}".strip()
        # Relative input names, so messages do not depend on where the checkout lives.
        result = subprocess.run([os.path.abspath(binaries[tool]), *options, os.path.basename(data)],
                                capture_output=True, cwd=os.path.dirname(data))
        if result.returncode != 0:
            print(f"FAIL {name}: exit {result.returncode}: {result.stderr.decode(errors='replace')}")
            failures += 1
            continue
        actual = result.stdout + b"<!-- stderr: " + result.stderr.replace(b"--", b"- -") + b" -->\n"
        if bless:
            os.makedirs(os.path.dirname(expected_path), exist_ok=True)
            with open(expected_path, "wb") as f:
                f.write(actual)
            blessed += 1
            continue
        if not os.path.exists(expected_path):
            print(f"FAIL {name}: no expected file {os.path.relpath(expected_path, HERE)}; "
                  "review the output and run with PYFOLD_BLESS=1 to create it")
            failures += 1
            continue
        expected = open(expected_path, "rb").read()
        if actual != expected:
            failures += 1
            diff = difflib.unified_diff(expected.decode(errors="replace").splitlines(),
                                        actual.decode(errors="replace").splitlines(),
                                        "expected", "actual", lineterm="", n=1)
            print(f"FAIL {name}: differs from {os.path.relpath(expected_path, HERE)}")
            for i, line in enumerate(diff):
                if i >= 40:
                    print("  ...")
                    break
                print("  " + line[:200])
        else:
            passed += 1
    if bless:
        print(f"golden: blessed {blessed} expected files; review them with git diff")
        return 0
    print(f"golden: {passed} passed, {failures} failed")
    return 1 if failures else 0


sys.exit(main())
