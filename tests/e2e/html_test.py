#!/usr/bin/env python3
"""End-to-end tests of pyflame-html: the real binary on a real recording of a program with known proportions
(tests/e2e/targets/proportions.py: one loop called from two lines, 3:1), and its options in real shell pipes.

Usage: html_test.py PYFLAME_HTML PYFOLD_RECORD SOURCE_ROOT
"""
import base64
import gzip
import json
import os
import re
import shutil
import sys
import tempfile

from harness import check, finish, shell

BIN, RECORD, ROOT = (os.path.abspath(a) for a in sys.argv[1:4])
TARGET = os.path.join(ROOT, "tests", "e2e", "targets", "proportions.py")
TMP = tempfile.mkdtemp(prefix="pyfold-e2e-html-")
PYTHON = shutil.which("python3")


def sh(command, **kw):
    return shell(command, dict(PYFLAME_HTML=BIN, RECORD=RECORD, TARGET=TARGET, TMP=TMP, PYTHON=PYTHON or ""), TMP, **kw)


def page_data(html):
    """The page's embedded data, with its tree decoded: (data, [(frame, children, total), ...] in preorder)."""
    m = re.search(rb'<script type="application/json" id="pyfold-data">(.*?)</script>', html, re.S)
    assert m, "no data element"
    data = json.loads(m.group(1))
    nodes = []
    if "tree64" in data:
        raw, pos = base64.b64decode(data["tree64"]), 0

        def varint():
            nonlocal pos
            value = shift = 0
            while True:
                byte = raw[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    return value
        for _ in range(data["nodes"]):
            node = [varint() - 1, varint(), varint()]
            if data["differential"]:
                varint()
            nodes.append(tuple(node))
    else:
        step = 4 if data["differential"] else 3
        nodes = [tuple(data["tree"][i:i + 3]) for i in range(0, len(data["tree"]), step)]
    return data, nodes


def folded_total(text):
    return sum(float(line.rsplit(None, 1)[1]) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def line_total(doc, line):
    return doc["files"][TARGET]["lines"].get(str(line), {}).get("total", 0)


recording = {}
if not PYTHON:
    print("skip - no python3 on PATH")
    sys.exit(77)


@check("a recording of proportions.py (pyfold record)")
def _():
    # The best of three runs: wall-clock sampling on a loaded machine can stray (as e2e-record's own check).
    for attempt in range(3):
        code, out, err = sh('"$RECORD" --python "$PYTHON" "$TARGET" 3 > "$TMP/p.folded"')
        assert code == 0, err
        code, out, err = sh('"$PYFLAME_HTML" --json "$TMP/p.folded"')
        assert code == 0, err
        doc = json.loads(out)
        three, one = line_total(doc, 14), line_total(doc, 18)  # return loop(30000) / return loop(10000)
        assert three + one > 300, (three, one)
        recording.update(doc=doc, three=three, one=one)
        if abs(three / (three + one) - 0.75) <= 0.05:
            break


@check("the two call lines hold their 3:1 ratio (75% +- 5 points)")
def _():
    three, one = recording["three"], recording["one"]
    assert abs(three / (three + one) - 0.75) <= 0.05, (three, one)


@check("the hot lines: the loop's body (lines 8-9) holds the loop's samples, as self, and loop() is the top function")
def _():
    doc = recording["doc"]
    lines = doc["files"][TARGET]["lines"]
    body = sum(lines.get(str(n), {}).get("self", 0) for n in (8, 9))
    assert body >= 0.9 * doc["total"], (body, doc["total"])
    top = doc["functions"][0]
    assert top["name"] == "loop" and top["file"] == TARGET and top["line"] in (8, 9), top
    # Its callers' lines hold its stacks, and the few samples taken on those lines before the call began.
    calls = line_total(doc, 14) + line_total(doc, 18)
    assert 0.98 * calls <= top["total"] <= calls, (top, calls)


@check("the page's flame graph totals equal the input's; every recorded line has its source text")
def _():
    code, out, err = sh('"$PYFLAME_HTML" "$TMP/p.folded" -o "$TMP/p.html"')
    assert code == 0 and out == b"", err
    html = open(os.path.join(TMP, "p.html"), "rb").read()
    data, nodes = page_data(html)
    total = folded_total(open(os.path.join(TMP, "p.folded")).read())
    assert nodes[0][0] == -1 and nodes[0][2] == total == data["total"], (nodes[0], total)
    # Children's totals never exceed their parent's: walk the preorder with child counts.
    stack, seen = [], 0
    for frame, children, value in nodes:
        if stack:
            parent = stack[-1]
            parent[2] += value
            parent[1] -= 1
        stack.append([value, children, 0])
        while stack and stack[-1][1] == 0:
            done = stack.pop()
            assert done[2] <= done[0], done
        seen += 1
    assert seen == data["nodes"] and not stack
    files = {f["path"]: f for f in data["files"]}
    source = files[TARGET]["source"]
    assert source == open(TARGET).read().splitlines(), "source text differs"
    # Self-contained: no URL in the page outside its data (the sources' own comments may hold some).
    markup = re.sub(rb'<script type="application/json" id="pyfold-data">.*?</script>', b"", html, flags=re.S)
    assert not re.search(rb"https?://|src=|href=|@import|url\(", markup), "a link out of the page"


@check("gzip input, several inputs merged, stdout without -o")
def _():
    with open(os.path.join(TMP, "p.folded"), "rb") as f, gzip.open(os.path.join(TMP, "p.folded.gz"), "wb") as g:
        g.write(f.read())
    code, out, err = sh('"$PYFLAME_HTML" --json "$TMP/p.folded.gz" - < "$TMP/p.folded"')
    assert code == 0, err
    assert json.loads(out)["total"] == 2 * recording["doc"]["total"]
    code, out, err = sh('cat "$TMP/p.folded" | "$PYFLAME_HTML" --title "My <b>report</b>"')
    assert code == 0 and out.startswith(b"<!DOCTYPE html>"), err
    assert b"<title>My &lt;b&gt;report&lt;/b&gt;</title>" in out


@check("--source-root reads moved sources; an unreadable file is listed with its counts and no text")
def _():
    moved = os.path.join(TMP, "moved")
    os.makedirs(moved, exist_ok=True)
    shutil.copy(TARGET, moved)
    text = open(os.path.join(TMP, "p.folded")).read().replace(os.path.dirname(TARGET), "/nonexistent/place")
    open(os.path.join(TMP, "moved.folded"), "w").write(text)
    code, out, err = sh('"$PYFLAME_HTML" "$TMP/moved.folded" --source-root /nonexistent/place="$TMP/moved"')
    assert code == 0, err
    data, _ = page_data(out)
    path = "/nonexistent/place/proportions.py"
    assert {f["path"]: f for f in data["files"]}[path]["source"] == open(TARGET).read().splitlines()
    code, out, err = sh('"$PYFLAME_HTML" "$TMP/moved.folded"')
    data, _ = page_data(out)
    entry = {f["path"]: f for f in data["files"]}[path]
    assert entry["source"] is None and "No such file" in entry["why"], entry
    code, out, err = sh('"$PYFLAME_HTML" --json "$TMP/moved.folded"')
    assert json.loads(out)["files"][path]["lines"]["14"]["total"] == recording["three"]


@check("exit codes: 2 for empty input and bad usage, 1 for a missing file (and -o left untouched)")
def _():
    code, out, err = sh('printf "" | "$PYFLAME_HTML"')
    assert code == 2 and "no stack counts" in err, (code, err)
    code, out, err = sh('"$PYFLAME_HTML" --source-root nothing "$TMP/p.folded"')
    assert code == 2 and "OLD=NEW" in err, (code, err)
    code, out, err = sh('"$PYFLAME_HTML" "$TMP/missing.folded" -o "$TMP/never.html"')
    assert code == 1 and "missing.folded" in err and not os.path.exists(os.path.join(TMP, "never.html")), (code, err)
    code, out, err = sh('printf "a 1\\nno count\\n" | "$PYFLAME_HTML" --strict --json')
    assert code == 2 and "<stdin>:2" in err, (code, err)


shutil.rmtree(TMP, ignore_errors=True)
finish()
