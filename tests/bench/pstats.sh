#!/usr/bin/env bash
# Benchmark pstats → folded: pyfold's C++ reader and conserving rebuild against an older pyfold-collapse (if given),
# flameprof (if importable) and the stdlib `pstats` module only loading the same dump. Paired runs: each round runs
# every tool once in turn; medians and the median of the per-round ratios are reported.
#
# Usage: tests/bench/pstats.sh [--runs N] [--modules N] [DUMP]
#   DUMP         a pstats file [tests/bench/out/pstats-big.pstats, made once: cProfile of pydoc.writedoc over the
#                first N importable stdlib modules, about 2.4 MB with 300]
#   --runs N     rounds [5]
#   --modules N  modules documented when the dump is made [300]
# Environment: PYFOLD_COLLAPSE (a `pyfold-collapse` binary: run as `pyfold-collapse --format pstats DUMP`),
#              PYFOLD_COLLAPSE_BEFORE (another one to compare with, e.g. built before the exact rebuild, 43baf5a^),
#              PYTHON [python3] for the dump, pstats and flameprof (`python3 -m flameprof --format=log DUMP`).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
runs=5
modules=300
dump=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift ;;
    --modules) modules=$2; shift ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) dump=$1 ;;
  esac
  shift
done

if [ -z "$dump" ]; then
  mkdir -p "$here/out"
  dump=$here/out/pstats-big.pstats
  if [ ! -s "$dump" ]; then
    echo "making $dump (cProfile of pydoc over $modules stdlib modules; a few minutes)..." >&2
    work=$(mktemp -d)
    cat > "$work/workload.py" <<PY
import contextlib, io, os, pkgutil, pydoc
skip = ('_', 'test', 'idlelib', 'tkinter', 'turtle', 'antigravity', 'this')
names = sorted(m.name for m in pkgutil.iter_modules() if not m.name.startswith(skip))[:$modules]
os.chdir("$work")
for n in names:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            pydoc.writedoc(n)
        except BaseException:
            pass
PY
    (cd "$work" && "$python" -m cProfile -o "$dump" workload.py)
    rm -rf "$work"
  fi
fi

fold=("${PYFOLD_COLLAPSE:-$repo/build/src/pyfold-collapse}" --format pstats "$dump")
before=${PYFOLD_COLLAPSE_BEFORE:-}

"$python" - "$dump" "$runs" "$before" "${fold[@]}" <<'PY'
import os, platform, pstats, resource, statistics, subprocess, sys, tempfile, time
dump, runs, before, fold = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def run(cmd, keep=False):
    """Wall and CPU (user + system) seconds of one run, and its output when kept. A timed run writes its output to
    a file, as `> out.folded` does: read back through a pipe, the reading (Python's, about 2 ms a megabyte here)
    would be timed as the tool's."""
    with tempfile.TemporaryFile() as sink:
        start, start_cpu = time.perf_counter(), cpu()
        subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, check=True)
        elapsed, used = time.perf_counter() - start, cpu() - start_cpu
        if keep:
            sink.seek(0)
            return elapsed, used, sink.read()
    return elapsed, used, None

tools = [('pyfold', fold)]
if before:
    tools.append(('before', [before, '--format', 'pstats', dump]))
try:
    import flameprof  # noqa: F401
    tools.append(('flameprof', [sys.executable, '-m', 'flameprof', '--format=log', dump]))
except ImportError:
    print('flameprof  not importable by %s: left out' % sys.executable)
tools.append(('pstats', [sys.executable, '-c', 'import pstats, sys; pstats.Stats(sys.argv[1])', dump]))

times = {name: [] for name, _ in tools}
outputs = {}
for name, cmd in tools:  # warm-up, whose output is checked
    outputs[name] = run(cmd, keep=True)[2]
for _ in range(runs):
    for name, cmd in tools:
        wall, used, _ = run(cmd)
        times[name].append((wall, used))

stats = pstats.Stats(dump).stats
tottime_us = round(sum(max(v[2], 0) for v in stats.values()) * 1e6)
edges = sum(len(v[4]) for v in stats.values())
print('date      %s' % time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
print('machine   %d CPUs, %s, Python %s' % (os.cpu_count(), platform.processor() or platform.machine(),
                                            platform.python_version()))
print('dump      %s: %d bytes, %d functions, %d caller edges, sum of tottime %d us' %
      (dump, os.path.getsize(dump), len(stats), edges, tottime_us))
for name, cmd in tools:
    wall = statistics.median(t[0] for t in times[name])
    used = statistics.median(t[1] for t in times[name])
    line = '%-9s %s: %.1f ms wall, %.1f ms CPU (medians of %d)' % (name, os.path.basename(cmd[0]) if name != 'pstats'
                                                                   else 'pstats.Stats(DUMP), load only',
                                                                   wall * 1e3, used * 1e3, runs)
    if name in ('pyfold', 'before'):
        lines = outputs[name].decode().splitlines()
        total = sum(int(l.rsplit(' ', 1)[1]) for l in lines)
        line += ', %d lines, sum of counts %d us (%s)' % (len(lines), total, 'exact' if total == tottime_us
                                                         else 'OFF BY %d' % (total - tottime_us))
    print(line)
for name, _ in tools[1:]:
    ratio_wall = statistics.median(a[0] / b[0] for a, b in zip(times[name], times['pyfold']))
    ratio_cpu = statistics.median(a[1] / max(b[1], 1e-3) for a, b in zip(times[name], times['pyfold']))
    print('ratio     %s / pyfold, median of paired rounds: %.2fx wall, %.2fx CPU' % (name, ratio_wall, ratio_cpu))
PY
