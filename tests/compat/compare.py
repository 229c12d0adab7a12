#!/usr/bin/env python3
"""Compare pyflame-svg with flamegraph.pl frame by frame.

Usage:
    FLAMEGRAPH_PL=/path/to/flamegraph.pl compare.py [PYFLAME_SVG] [-k FILTER] [-j JOBS] [--keep DIR]
                                                    [--input FILE] [--max-diffs N] [-v]

Every input (tests/compat/inputs/*.folded, samples/app.folded, and a 2000-line gen_folded.py
profile made at run time) is rendered with every option set of OPTIONS by both tools. From each
SVG every frame <g> is read (title text and rect) and the multisets of (name, samples, depth) are
compared, then the titles' percentages (and differential deltas) and the image height.

flamegraph.pl sorts whole input lines, so a frame whose name is a prefix of a sibling's name
followed by a character that sorts before ';' (`foo 4`, `foo.bar;x 1`, `foo;y 2`) can come out as
two boxes; pyflame-svg merges them. When the multisets differ, the flamegraph.pl frames are put
back into a tree (parent = the box at depth-1 whose x range contains the frame), same-name
siblings are merged, and if that matches pyflame-svg the case is reported as a known difference.

Exit status: 0 all cases match (known differences allowed), 1 a difference or a tool failure,
2 usage error, 77 FLAMEGRAPH_PL is not set (meson's "skipped").
"""
import argparse
import bisect
import collections
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
INPUTS = os.path.join(HERE, "inputs")
DEFAULT_PYFLAME = os.path.join(HERE, "..", "..", "build", "src", "pyflame-svg")
DEFAULT_GEN = os.path.join(REPO, "..", "shared", "bench", "gen_folded.py")
GEN_LINES = 2000
SKIP = 77

# (label, arguments); "{total}" is replaced by a count bigger than the input's sum.
OPTIONS = [
    ("default", []),
    ("minwidth=0", ["--minwidth", "0"]),
    ("minwidth=1", ["--minwidth", "1"]),
    ("minwidth=0.5%", ["--minwidth", "0.5%"]),
    ("reverse", ["--reverse"]),
    ("inverted", ["--inverted"]),
    ("flamechart", ["--flamechart"]),
    ("width=800", ["--width", "800"]),
    ("fontsize=10", ["--fontsize", "10"]),
    ("factor=2", ["--factor", "2"]),
    ("countname=bytes", ["--countname", "bytes"]),
    ("total", ["--total", "{total}"]),
    ("negate", ["--negate"]),
]

Frame = collections.namedtuple("Frame", "name samples depth pct delta x w text")

TITLE_RE = re.compile(r"^(.*) \(([0-9,]+) (.+?), ([0-9.]+)%(?:; ([+-]?[0-9.]+)%)?\)$", re.S)
FRAME_RE = re.compile(r"<(?:g|a)\b[^>]*>\s*<title>(.*?)</title>\s*<rect\b([^>]*?)/?>", re.S)
ATTR_RE = re.compile(r'([\w:-]+)="([^"]*)"')
ENTITY_RE = re.compile(r"&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);")
ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def unescape(text):
    def one(m):
        e = m.group(1)
        if e.startswith("#x"):
            return chr(int(e[2:], 16))
        if e.startswith("#"):
            return chr(int(e[1:]))
        return ENTITIES[e]
    return ENTITY_RE.sub(one, text)


class ParseError(Exception):
    pass


def parse_svg(text, inverted):
    """(frames, image height) of one SVG. Depth: bottom-up from the root (top-down if inverted)."""
    m = re.search(r"<svg\b[^>]*?\sheight=\"([^\"]+)\"", text)
    if not m:
        raise ParseError("no <svg height=...>")
    height = m.group(1)
    start = text.find('id="frames"')
    if start < 0:
        raise ParseError('no <g id="frames">')
    raw = []
    for m in FRAME_RE.finditer(text, start):
        title = unescape(m.group(1))
        attrs = dict(ATTR_RE.findall(m.group(2)))
        t = TITLE_RE.match(title)
        if not t:
            raise ParseError(f"unparsable title {title!r}")
        try:
            x, y, w, h = (float(attrs[k]) for k in ("x", "y", "width", "height"))
        except (KeyError, ValueError):
            raise ParseError(f"bad rect for {title!r}: {m.group(2).strip()!r}")
        raw.append((t.group(1), int(t.group(2).replace(",", "")), t.group(4), t.group(5), x, y, w, h, t.group(2)))
    if not raw:
        raise ParseError("no frames")
    ys = sorted({r[5] for r in raw})
    steps = [b - a for a, b in zip(ys, ys[1:]) if b - a > 1e-6]
    step = min(steps) if steps else raw[0][7] + 1
    root_y = ys[0] if inverted else ys[-1]
    frames = []
    for name, samples, pct, delta, x, y, w, h, text in raw:
        d = (y - root_y) / step if inverted else (root_y - y) / step
        depth = round(d)
        if abs(d - depth) > 1e-3:
            raise ParseError(f"frame {name!r} at y={y} is not on the {step}-pixel grid")
        frames.append(Frame(name, samples, depth, pct, delta, x, w, text))
    return frames, height


# ---------------------------------------------------------------------------------------------
# flamegraph.pl's split frames: rebuild the tree from the boxes and merge same-name siblings.

class Node:
    __slots__ = ("frame", "samples", "children", "merged_from")

    def __init__(self, frame):
        self.frame = frame
        self.samples = frame.samples
        self.children = []
        self.merged_from = [frame]


def build_tree(frames):
    """Roots of the box tree: each frame's parent is the box one level down containing it."""
    by_depth = collections.defaultdict(list)
    for f in frames:
        by_depth[f.depth].append(Node(f))
    for nodes in by_depth.values():
        nodes.sort(key=lambda n: n.frame.x)
    for depth in sorted(by_depth):
        if depth == 0:
            continue
        parents = by_depth.get(depth - 1, [])
        starts = [p.frame.x for p in parents]
        for n in by_depth[depth]:
            lo, hi = n.frame.x, n.frame.x + n.frame.w
            i = bisect.bisect_right(starts, (lo + hi) / 2)
            best, best_overlap = None, -1.0
            for p in parents[max(0, i - 2):i + 1]:
                overlap = min(hi, p.frame.x + p.frame.w) - max(lo, p.frame.x)
                if p.frame.x - 0.051 <= lo and hi <= p.frame.x + p.frame.w + 0.051 and overlap > best_overlap:
                    best, best_overlap = p, overlap
            if best is None:
                raise ParseError(f"no parent box for {n.frame.name!r} at depth {depth} x={lo}")
            best.children.append(n)
    return by_depth.get(0, [])


def merge_siblings(nodes, splits, path):
    """Merge same-name siblings (recursively); record every merge in splits."""
    groups = collections.OrderedDict()
    for n in nodes:
        groups.setdefault(n.frame.name, []).append(n)
    out = []
    for name, group in groups.items():
        keep = group[0]
        if len(group) > 1:
            for other in group[1:]:
                keep.samples += other.samples
                keep.children.extend(other.children)
                keep.merged_from.extend(other.merged_from)
            splits.append((path + [name], keep.frame.depth, [f.samples for f in keep.merged_from], keep.samples))
        keep.children = merge_siblings(keep.children, splits, path + [name])
        out.append(keep)
    return out


def merged_frames(frames):
    """flamegraph.pl's frames with split boxes merged: (frames, splits).
    A merged frame has the summed samples and pct None (its percentage and delta are not compared)."""
    splits = []
    roots = merge_siblings(build_tree(frames), splits, [])
    out = []
    stack = list(roots)
    while stack:
        n = stack.pop()
        f = n.frame
        if len(n.merged_from) > 1:
            f = f._replace(samples=n.samples, pct=None, delta=None)
        out.append(f)
        stack.extend(n.children)
    return out, splits


# ---------------------------------------------------------------------------------------------

def key3(f):
    return (f.name, f.samples, f.depth)


def multiset_diff(a, b, key):
    ca, cb = collections.Counter(map(key, a)), collections.Counter(map(key, b))
    return ca - cb, cb - ca


def describe_diff(only_fg, only_py, limit):
    """Readable lines for the first differences, pairing entries with the same (name, depth)."""
    def rest(k):
        return " ".join(str(x) for x in k[3:] if x != "")

    def times(c):
        return f" (x{c})" if c > 1 else ""

    items = []
    py_by = collections.defaultdict(list)
    for k, c in only_py.items():
        py_by[(k[0], k[2])].append((k, c))
    used = set()
    for k, c in sorted(only_fg.items(), key=lambda kc: (kc[0][2], kc[0][0], kc[0][1])):
        name, samples, depth = k[0], k[1], k[2]
        partner = [pk for pk in py_by.get((name, depth), []) if pk[0] not in used]
        if partner:
            pk, pc = partner[0]
            used.add(pk)
            text = (f"depth {depth} {name!r}: flamegraph.pl {' '.join(filter(None, [str(samples), rest(k)]))}"
                    f"{times(c)}; pyflame-svg {' '.join(filter(None, [str(pk[1]), rest(pk)]))}{times(pc)}")
        else:
            text = f"depth {depth} {name!r}: only in flamegraph.pl: {samples} samples {rest(k)}{times(c)}"
        items.append((depth, text.replace("  ", " ").rstrip()))
    for k, c in only_py.items():
        if k not in used:
            text = f"depth {k[2]} {k[0]!r}: only in pyflame-svg: {k[1]} samples {rest(k)}{times(c)}"
            items.append((k[2], text.replace("  ", " ").rstrip()))
    items.sort(key=lambda it: it[0])
    lines = [t for _, t in items]
    more = len(lines) - limit
    return lines[:limit] + ([f"... and {more} more"] if more > 0 else [])


def compare(fg_frames, fg_height, py_frames, py_height, limit, mixed_counts=False):
    """(status, messages); status is 'ok', 'known' or 'FAIL'.

    mixed_counts: the input mixes one-count and two-count lines. flamegraph.pl then gives a frame a change figure
    only when the first line (in its sort order) that reaches the frame has two counts; pyflame-svg gives one to
    every frame on a two-count line's path. Frames differing only that way (pyflame-svg "delta 0.00%", flamegraph.pl
    none) are a known difference."""
    msgs = []
    status = "ok"
    fg_cmp = fg_frames
    only_fg, only_py = multiset_diff(fg_frames, py_frames, key3)
    merged_keys = set()
    if only_fg or only_py:
        try:
            merged, splits = merged_frames(fg_frames)
        except ParseError as e:
            merged, splits = None, []
            msgs.append(f"(could not rebuild flamegraph.pl's tree: {e})")
        if merged is not None and splits:
            m_fg, m_py = multiset_diff(merged, py_frames, key3)
            if not m_fg and not m_py:
                status = "known"
                for path, depth, parts, total in splits:
                    msgs.append(f"known difference: flamegraph.pl splits frame {path[-1]!r} (depth {depth}, under "
                                f"{' > '.join(repr(p) for p in path[:-1]) or 'the root'}) into {len(parts)} boxes: "
                                f"{' + '.join(map(str, parts))} = {total} samples, pyflame-svg draws one")
                fg_cmp = merged
                merged_keys = {key3(f) for f in merged if f.pct is None}
        if status != "known":
            status = "FAIL"
            msgs.append(f"frames (name, samples, depth) differ: flamegraph.pl {len(fg_frames)} frames, "
                        f"pyflame-svg {len(py_frames)}")
            if splits:
                names = ", ".join(sorted({repr(p[-1]) for p, _, _, _ in splits}))
                msgs.append(f"  after merging flamegraph.pl's split boxes ({names}) these remain:")
                msgs += ["  " + s for s in describe_diff(m_fg, m_py, limit)]
            else:
                msgs += ["  " + s for s in describe_diff(only_fg, only_py, limit)]
    if status != "FAIL":
        def key5(f):
            return (f.name, f.samples, f.depth, f"'{f.text}'", f"{f.pct}%", "" if f.delta is None else f"delta {f.delta}%")
        a = [f for f in fg_cmp if key3(f) not in merged_keys]
        b = [f for f in py_frames if key3(f) not in merged_keys]
        p_fg, p_py = multiset_diff(a, b, key5)
        if mixed_counts and (p_fg or p_py):
            def key5_no_zero_delta(f):
                k = key5(f)
                return k[:5] + ("",) if k[5] == "delta 0.00%" else k
            r_fg, r_py = multiset_diff(a, b, key5_no_zero_delta)
            if not r_fg and not r_py:
                status = "known"
                msgs.append(f"known difference: {len(p_py)} frames on two-count paths show 'delta 0.00%' in "
                            "pyflame-svg; flamegraph.pl shows a change only when the first line it sorts through "
                            "the frame has two counts")
                p_fg, p_py = [], []
        if p_fg or p_py:
            status = "FAIL"
            msgs.append("title numbers (count text, percentage, delta) differ:")
            msgs += ["  " + s for s in describe_diff(p_fg, p_py, limit)]
    if fg_height != py_height:
        status = "FAIL"
        msgs.append(f"image height differs: flamegraph.pl {fg_height}, pyflame-svg {py_height}")
    if status != "FAIL":
        status = compare_layout(fg_frames, py_frames, status, msgs, limit)
    return status, msgs


def prefix_siblings(frames):
    """Same-parent sibling pairs (a, b) where b is a + a character sorting before ';'."""
    pairs = []
    def walk(nodes):
        names = sorted({n.frame.name for n in nodes})
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if not b.startswith(a):
                    break
                if b[len(a)] < ";":
                    pairs.append((a, b))
        for n in nodes:
            walk(n.children)
    walk(build_tree(frames))
    return pairs


def compare_layout(fg_frames, py_frames, status, msgs, limit):
    """Same boxes at the same x and width. flamegraph.pl's line sort may order prefix-named
    siblings (`foo` / `foo.bar`) differently: with such a pair present a layout difference is known."""
    def key(f):
        return (f.name, f.samples, f.depth, f"x={f.x:.1f}", f"width={f.w:.1f}")
    l_fg, l_py = multiset_diff(fg_frames, py_frames, key)
    if not l_fg and not l_py:
        return status
    try:
        pairs = prefix_siblings(py_frames)
    except ParseError as e:
        pairs = []
        msgs.append(f"(could not rebuild pyflame-svg's tree: {e})")
    n = sum(l_py.values())
    if pairs or status == "known":
        shown = ", ".join(f"{a!r}/{b!r}" for a, b in pairs[:4]) + (" ..." if len(pairs) > 4 else "")
        msgs.append(f"known difference: {n} boxes at other x positions: flamegraph.pl orders siblings by whole "
                    f"input lines ({shown or 'split frames'})")
        return "known"
    msgs.append(f"layout differs ({n} pyflame-svg boxes not at flamegraph.pl's x/width):")
    msgs.extend("  " + s for s in describe_diff(l_fg, l_py, limit))
    return "FAIL"


# ---------------------------------------------------------------------------------------------

def input_total(path):
    """Sum of the counts (the second count of differential lines), as flamegraph.pl reads them."""
    total = 0.0
    num = re.compile(r"^(.*?)\s+?(\d+(?:\.\d*)?)$")
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            m = num.match(line.rstrip("\r\n"))
            if m:
                total += float(m.group(2))
    return total


def run(cmd):
    r = subprocess.run(cmd, capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", errors="surrogateescape"), r.stderr.decode("utf-8", errors="replace")


def run_case(case, fg_cmd, pyflame, keep, limit):
    name, path, label, args, inverted = case
    msgs = []
    fg_code, fg_out, fg_err = run(fg_cmd + args + [path])
    py_code, py_out, py_err = run([pyflame] + args + [path])
    if keep:
        stem = os.path.join(keep, f"{name}--{label}".replace("/", "_").replace("%", "pct"))
        with open(stem + ".flamegraph.svg", "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(fg_out)
        with open(stem + ".pyflame.svg", "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(py_out)
    if fg_code != 0:
        return "FAIL", [f"flamegraph.pl exited {fg_code}: {fg_err.strip()[:500]}"], 0
    if py_code != 0:
        return "FAIL", [f"pyflame-svg exited {py_code}: {py_err.strip()[:500]}"], 0
    try:
        ET.fromstring(py_out.encode("utf-8", errors="surrogateescape"))
    except ET.ParseError as e:
        msgs.append(f"pyflame-svg output is not well-formed XML: {e}")
    try:
        fg_frames, fg_height = parse_svg(fg_out, inverted)
    except ParseError as e:
        return "FAIL", msgs + [f"cannot read flamegraph.pl's SVG: {e}"], 0
    try:
        py_frames, py_height = parse_svg(py_out, inverted)
    except ParseError as e:
        return "FAIL", msgs + [f"cannot read pyflame-svg's SVG: {e}"], 0
    counts = set()
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and re.fullmatch(r"\d+(\.\d*)?", parts[-1]):
                counts.add(2 if len(parts) >= 3 and re.fullmatch(r"\d+(\.\d*)?", parts[-2]) else 1)
    status, more = compare(fg_frames, fg_height, py_frames, py_height, limit, mixed_counts=counts == {1, 2})
    if msgs:
        status = "FAIL"
    return status, msgs + more, len(py_frames)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Environment: FLAMEGRAPH_PL (required), PYFLAME_SVG, GEN_FOLDED.")
    ap.add_argument("pyflame_svg", nargs="?", help="pyflame-svg binary [$PYFLAME_SVG or build/src/pyflame-svg]")
    ap.add_argument("-k", dest="filter", action="append", default=[],
                    help="only cases whose 'INPUT OPTION' contains this text (repeatable)")
    ap.add_argument("-j", dest="jobs", type=int, default=os.cpu_count() or 2, help="parallel cases")
    ap.add_argument("--keep", metavar="DIR", help="write both SVGs of every case here")
    ap.add_argument("--input", action="append", default=[], metavar="FILE",
                    help="compare this folded file too (repeatable)")
    ap.add_argument("--max-diffs", type=int, default=10, help="differences shown per case [10]")
    ap.add_argument("-v", "--verbose", action="store_true", help="print known differences in full")
    a = ap.parse_args()

    fg = os.environ.get("FLAMEGRAPH_PL")
    if not fg:
        print("compat: skipped: set FLAMEGRAPH_PL=/path/to/flamegraph.pl")
        return SKIP
    if not os.path.isfile(fg):
        print(f"compat: FLAMEGRAPH_PL={fg}: no such file", file=sys.stderr)
        return 2
    fg_cmd = [fg] if os.access(fg, os.X_OK) and not fg.endswith(".pl") else ["perl", fg]
    pyflame = os.path.abspath(a.pyflame_svg or os.environ.get("PYFLAME_SVG") or DEFAULT_PYFLAME)
    if not os.access(pyflame, os.X_OK):
        print(f"compat: pyflame-svg not found at {pyflame} (build it: ninja -C build)", file=sys.stderr)
        return 2
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="pyfold-compat-") as tmp:
        inputs = [(os.path.basename(p), p) for p in sorted(
            os.path.join(INPUTS, n) for n in os.listdir(INPUTS) if n.endswith(".folded"))]
        app = os.path.join(REPO, "samples", "app.folded")
        if os.path.isfile(app):
            inputs.append(("samples/app.folded", app))
        gen = os.environ.get("GEN_FOLDED") or DEFAULT_GEN
        notes = []
        if os.path.isfile(gen):
            out = os.path.join(tmp, f"gen{GEN_LINES}.folded")
            with open(out, "w") as f:
                subprocess.run([sys.executable, gen, str(GEN_LINES)], stdout=f, check=True)
            inputs.append((f"gen_folded.py {GEN_LINES}", out))
        else:
            notes.append(f"skipped input gen_folded.py {GEN_LINES}: {gen} not found (set GEN_FOLDED)")
        inputs += [(p, os.path.abspath(p)) for p in a.input]

        cases = []
        for name, path in inputs:
            total = str(int(input_total(path) * 2) + 7)
            for label, args in OPTIONS:
                if a.filter and not any(k in f"{name} {label}" for k in a.filter):
                    continue
                args = [x.replace("{total}", total) for x in args]
                cases.append((name, path, label + (f" {total}" if label == "total" else ""), args,
                              "--inverted" in args))
        print(f"compat: {len(cases)} cases; flamegraph.pl: {fg}; pyflame-svg: {pyflame}")
        for n in notes:
            print(f"compat: {n}")
        counts = collections.Counter()
        with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as ex:
            futures = [ex.submit(run_case, c, fg_cmd, pyflame, a.keep, a.max_diffs) for c in cases]
            width = max((len(c[0]) for c in cases), default=10)
            for case, fut in zip(cases, futures):
                try:
                    status, msgs, nframes = fut.result()
                except Exception as e:  # a bug in this script must not look like a pass
                    status, msgs, nframes = "FAIL", [f"compare.py error: {e!r}"], 0
                counts[status] += 1
                tag = {"ok": "ok   ", "known": "known", "FAIL": "FAIL "}[status]
                print(f"{tag} {case[0]:<{width}}  {case[2]:<18} {nframes:>6} frames")
                shown = msgs if (status == "FAIL" or a.verbose) else msgs[:3] + (
                    [f"... and {len(msgs) - 3} more (-v)"] if len(msgs) > 3 else [])
                for m in shown:
                    print(f"      {m}")
        print(f"compat: {len(cases)} cases: {counts['ok']} ok, {counts['known']} known difference, "
              f"{counts['FAIL']} failed")
        return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
