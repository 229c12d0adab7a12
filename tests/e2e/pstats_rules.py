"""The rules a folded rebuild of a pstats dump must keep (pyfold-collapse(1), "How pstats stacks are built"), checked
for every function and every edge of the dump.

dump_stats(python, path) runs `python` (the writer) to read the dump; check_rules(stats, stacks) returns the list of
broken rules; self_time_error(stats, stacks) the largest relative self-time error over functions with >= 0.5% of the
total. Times are in µs, as pyfold writes them by default.
"""
import json
import subprocess

# Run by the Python that wrote the dump: every function as [frame, tt, ct, cc, nc, recursive, {caller frame: edge ct}]
# (times in µs; None for the profile module's int callers, which give calls only).
READ = r'''
import json, marshal, sys
stats = marshal.load(open(sys.argv[1], 'rb'))
def frame(key):
    f, line, name = key
    if not isinstance(name, str):
        name = getattr(name, 'co_name', '<code>')
    name = name.replace(';', ':').replace('\n', ' ')
    if f == '~' or not f:
        return name
    return '%s (%s:%d)' % (name, f, line) if line > 0 else '%s (%s)' % (name, f)
out = []
for key, (cc, nc, tt, ct, callers) in stats.items():
    if not isinstance(key, tuple) or len(key) != 3:
        continue
    tt, ct = max(tt, 0) * 1e6, max(ct, 0) * 1e6
    edges = {}
    for k, v in callers.items():
        if isinstance(v, int):  # a call count only: no edge time to check against
            edges[frame(k)] = None
        else:
            edges[frame(k)] = edges.get(frame(k), 0) + sum(max(v[i + 3], 0) for i in range(0, len(v), 4)) * 1e6
    out.append([frame(key), tt, ct, cc, nc, key in callers, edges])
json.dump(out, sys.stdout)
'''


def dump_stats(python, path):
    done = subprocess.run([python, "-c", READ, path], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-300:]
    return json.loads(done.stdout)


def _real(frame):
    return not (frame.startswith("[") and frame.endswith("]"))


def totals(stacks):
    """Self time per leaf frame, inclusive time per frame (each stack once), and per adjacent pair of real frames."""
    self_time, inclusive, under_edge = {}, {}, {}
    for frames, count in stacks:
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
        for f in set(frames):
            inclusive[f] = inclusive.get(f, 0) + count
        for pair in set(zip(frames, frames[1:])):
            if _real(pair[0]) and _real(pair[1]):
                under_edge[pair] = under_edge.get(pair, 0) + count
    return self_time, inclusive, under_edge


def check_rules(stats, stacks, exact_self=True):
    """Broken rules, as messages: (a) self time == tottime for every function (within one µs per line of it),
    (b) inclusive <= cumtime (or tottime, when a dump has it larger) for non-recursive functions and time under an edge <= the edge's cumtime (plus one µs
    per stack), (c) every adjacent pair of real frames is an edge of the dump."""
    broken = []
    self_time, inclusive, under_edge = totals(stacks)
    lines_of = {}
    for frames, _ in stacks:
        for f in set(frames):
            lines_of[f] = lines_of.get(f, 0) + 1
    by_frame = {}
    for frame, tt, ct, cc, nc, recursive, edges in stats:
        if frame in by_frame:  # two keys with the same text (rare): sum, as pyfold does with duplicate keys
            old = by_frame[frame]
            by_frame[frame] = [frame, old[1] + tt, old[2] + ct, old[3] + cc, old[4] + nc, old[5] or recursive,
                               {k: None if None in (old[6].get(k, 0), edges.get(k, 0))
                                else old[6].get(k, 0) + edges.get(k, 0) for k in set(old[6]) | set(edges)}]
        else:
            by_frame[frame] = [frame, tt, ct, cc, nc, recursive, edges]
    # A dump can give a function less cumtime than its own calls took (3.12+ cProfile.run's `<string>` module):
    # pyfold raises it toward that bound, taking the time from its callers' edges as far as each caller's cumtime
    # allows (pyfold-collapse(1)); the rules allow the same.
    out_time, ct_of = {}, {}
    for frame, tt, ct, cc, nc, recursive, edges in by_frame.values():
        ct_of[frame] = ct
        for caller, edge_ct in edges.items():
            if caller != frame and edge_ct is not None:
                out_time[caller] = out_time.get(caller, 0) + edge_ct
    for frame, tt, ct, cc, nc, recursive, edges in by_frame.values():
        raised = not recursive and tt + out_time.get(frame, 0) > ct
        if raised:
            ct = tt + out_time.get(frame, 0)
        slack = 1 + lines_of.get(frame, 0)
        got = self_time.get(frame, 0)
        if exact_self and abs(got - tt) > slack:
            broken.append(f"(a) {frame}: self time {got} us, tottime {tt:.1f} us")
        # a dump whose tottime is over its cumtime (threads in 3.12+) cannot keep both: the self time is kept
        if not recursive and inclusive.get(frame, 0) > max(ct, tt) + slack:
            broken.append(f"(b) {frame}: inclusive {inclusive[frame]} us > cumtime {ct:.1f} us")
        for caller, edge_ct in edges.items():
            drawn = under_edge.get((caller, frame), 0)
            if raised and edge_ct is not None:
                edge_ct = max(edge_ct, ct_of.get(caller, 0))
            if caller != frame and edge_ct is not None and drawn > edge_ct + 1 + lines_of.get(frame, 0):
                broken.append(f"(b) {caller} -> {frame}: {drawn} us under the edge > its cumtime {edge_ct:.1f} us")
    for (caller, callee) in under_edge:
        if callee not in by_frame or caller not in by_frame[callee][6]:
            broken.append(f"(c) {caller} -> {callee}: not an edge of the dump")
    return broken


def self_time_error(stats, stacks, share=0.005):
    """The largest |self time - tottime| / tottime over functions with at least `share` of the total tottime."""
    self_time, _, _ = totals(stacks)
    total = sum(s[1] for s in stats)
    worst, where = 0.0, ""
    for frame, tt, *_ in stats:
        if total > 0 and tt >= share * total:
            err = abs(self_time.get(frame, 0) - tt) / tt
            if err > worst:
                worst, where = err, frame
    return worst, where
