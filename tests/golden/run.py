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
# The expected output's extension per tool. SVG results carry the tool's stderr as a trailing XML comment; the
# others keep it in RESULT.stderr beside the result (absent when stderr is empty).
EXTENSIONS = {"pyflame-svg": "svg", "pyflame-speedscope": "json", "pyfold-collapse": "folded", "pyfold-diff": "folded",
              "pyflame-pprof": "pprof.txt", "pyflame-html": "json"}

# profile.proto's messages as far as pyflame-pprof writes them: field -> (name, kind); kind is a message's name,
# "packed" (repeated varints) or "string"; plain varints are not listed.
PROTO = {
    "Profile": {1: ("sample_type", "ValueType"), 2: ("sample", "Sample"), 4: ("location", "Location"),
                5: ("function", "Function"), 6: ("string_table", "string"), 11: ("period_type", "ValueType"),
                12: ("period", None)},
    "ValueType": {1: ("type", None), 2: ("unit", None)},
    "Sample": {1: ("location_id", "packed"), 2: ("value", "packed"), 3: ("label", "Label")},
    "Label": {1: ("key", None), 2: ("str", None), 3: ("num", None), 4: ("num_unit", None)},
    "Location": {1: ("id", None), 2: ("mapping_id", None), 3: ("address", None), 4: ("line", "Line")},
    "Line": {1: ("function_id", None), 2: ("line", None)},
    "Function": {1: ("id", None), 2: ("name", None), 3: ("system_name", None), 4: ("filename", None),
                 5: ("start_line", None)},
}


def varint(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def proto_text(data, message="Profile", indent=""):
    """A gzip-compressed (or plain) profile.proto as indented text, one field a line: readable golden diffs that do
    not depend on the zlib version. Fails on anything profile.proto does not allow."""
    if message == "Profile" and data[:2] == b"\x1f\x8b":
        import gzip
        data = gzip.decompress(data)
    out, pos = [], 0
    while pos < len(data):
        key, pos = varint(data, pos)
        number, wire = key >> 3, key & 7
        name, kind = PROTO[message].get(number, (f"unknown_{number}", None))
        if wire == 0:
            value, pos = varint(data, pos)
            out.append(f"{indent}{name}: {value}")
        elif wire == 2:
            size, pos = varint(data, pos)
            body, pos = data[pos:pos + size], pos + size
            if kind == "packed":
                values, at = [], 0
                while at < len(body):
                    v, at = varint(body, at)
                    values.append(str(v))
                out.append(f"{indent}{name}: [{' '.join(values)}]")
            elif kind in PROTO:
                out.append(f"{indent}{name} {{")
                out.append(proto_text(body, kind, indent + "  ").rstrip("\n"))
                out.append(f"{indent}}}")
            else:
                out.append(f"{indent}{name}: {body.decode('utf-8')!r}")
        else:
            raise ValueError(f"{message}.{name}: wire type {wire}")
    return "\n".join(line for line in out if line) + "\n"


HTML_DATA_START = b'<script type="application/json" id="pyfold-data">'


def html_data(page):
    """The JSON data embedded in a pyflame-html page, byte for byte (its escapes are part of what is tested), after
    checking that the page around it is whole: one data element, then the script, then the end."""
    start = page.index(HTML_DATA_START) + len(HTML_DATA_START)
    end = page.index(b"</script>", start)
    if page.count(HTML_DATA_START) != 1 or not page.rstrip().endswith(b"</html>"):
        raise ValueError("pyflame-html: the page is not whole")
    return page[start:end] + b"\n"


def input_path(tool, case):
    """data/TOOL/CASE.EXT: the one file whose name without its extension is CASE."""
    folder = os.path.join(HERE, "data", tool)
    found = [f for f in sorted(os.listdir(folder)) if f.split(".", 1)[0] == case]
    if len(found) != 1:
        raise SystemExit(f"golden: expected one input data/{tool}/{case}.*, found {found}")
    return os.path.join(folder, found[0])


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
        data = input_path(tool, case)
        extension = EXTENSIONS.get(tool, "out")
        expected_path = os.path.join(HERE, "results", tool, f"{case}--{slug(options)}.{extension}")
        stderr_path = expected_path + ".stderr"
        name = f"{tool} {case} {' '.join(options)}".strip()
        # Relative input names, so messages do not depend on where the checkout lives.
        result = subprocess.run([os.path.abspath(binaries[tool]), *options, os.path.basename(data)],
                                capture_output=True, cwd=os.path.dirname(data))
        if result.returncode != 0 and extension == "svg":
            print(f"FAIL {name}: exit {result.returncode}: {result.stderr.decode(errors='replace')}")
            failures += 1
            continue
        if extension == "svg":
            actual, actual_stderr = result.stdout + b"<!-- stderr: " + result.stderr.replace(b"--", b"- -") + b" -->\n", b""
        else:
            # A failing case (bad input) is golden too: its exit status ends the expected stderr.
            status = f"[exit {result.returncode}]\n".encode() if result.returncode != 0 else b""
            actual, actual_stderr = result.stdout, result.stderr + status
            if tool == "pyflame-pprof" and result.returncode == 0:
                actual = proto_text(result.stdout).encode()
            if tool == "pyflame-html" and result.stdout.startswith(b"<!DOCTYPE html>"):
                actual = html_data(result.stdout)
        if bless:
            os.makedirs(os.path.dirname(expected_path), exist_ok=True)
            with open(expected_path, "wb") as f:
                f.write(actual)
            if actual_stderr:
                with open(stderr_path, "wb") as f:
                    f.write(actual_stderr)
            elif os.path.exists(stderr_path):
                os.remove(stderr_path)
            blessed += 1
            continue
        if not os.path.exists(expected_path):
            print(f"FAIL {name}: no expected file {os.path.relpath(expected_path, HERE)}; "
                  "review the output and run with PYFOLD_BLESS=1 to create it")
            failures += 1
            continue
        expected = open(expected_path, "rb").read()
        expected_stderr = open(stderr_path, "rb").read() if os.path.exists(stderr_path) else b""
        if actual_stderr != expected_stderr:
            failures += 1
            print(f"FAIL {name}: stderr {actual_stderr!r}, expected {expected_stderr!r}")
        elif actual != expected:
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
