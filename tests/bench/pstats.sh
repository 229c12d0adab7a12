#!/usr/bin/env bash
# Benchmark pstats → folded: pyfold's C++ reader and conserving rebuild against the stdlib `pstats` module only
# loading the same dump (python3 -c "import pstats; pstats.Stats(FILE)"; no flameprof here: no pip).
#
# Usage: tests/bench/pstats.sh [--runs N] [--modules N] [DUMP]
#   DUMP         a pstats file [tests/bench/out/pstats-big.pstats, made once: cProfile of pydoc.writedoc over the
#                first N importable stdlib modules, about 2.4 MB with 300]
#   --runs N     runs per tool, the best wall and CPU (user + system) times are reported [5]
#   --modules N  modules documented when the dump is made [300]
# Environment: PYFOLD_COLLAPSE (a `pyfold-collapse` binary: run as `pyfold-collapse --format pstats DUMP`),
#              PYTHON [python3] for the dump and for pstats.
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
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

"$python" - "$dump" "$runs" "${fold[@]}" <<'PY'
import os, platform, pstats, resource, subprocess, sys, time
dump, runs, fold = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime

def best(cmd):
    """Best wall time and best CPU time (user + system) of `runs` runs, and the output."""
    times, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), cpu()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
        times.append(time.perf_counter() - start)
        cpus.append(cpu() - start_cpu)
    return min(times), min(cpus), out

stats = pstats.Stats(dump).stats
tottime_us = round(sum(max(v[2], 0) for v in stats.values()) * 1e6)
edges = sum(len(v[4]) for v in stats.values())
fold_s, fold_cpu, folded = best(fold)
lines = folded.decode().splitlines()
total = sum(int(l.rsplit(' ', 1)[1]) for l in lines)
load_s, load_cpu, _ = best([sys.executable, '-c', 'import pstats, sys; pstats.Stats(sys.argv[1])', dump])
print('date      %s' % time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
print('machine   %d CPUs, %s, Python %s' % (os.cpu_count(), platform.processor() or platform.machine(),
                                            platform.python_version()))
print('dump      %s: %d bytes, %d functions, %d caller edges, sum of tottime %d us' %
      (dump, os.path.getsize(dump), len(stats), edges, tottime_us))
print('pyfold    %s: %.1f ms wall, %.1f ms CPU (best of %d), %d lines, sum of counts %d us (%s)' %
      (os.path.basename(fold[0]), fold_s * 1e3, fold_cpu * 1e3, runs, len(lines), total,
       'exact' if total == tottime_us else 'OFF BY %d' % (total - tottime_us)))
print('pstats    python3 pstats.Stats(DUMP), load only: %.1f ms wall, %.1f ms CPU (best of %d)' %
      (load_s * 1e3, load_cpu * 1e3, runs))
print('ratio     pstats load / pyfold full conversion: %.1fx wall, %.1fx CPU' %
      (load_s / fold_s, load_cpu / max(fold_cpu, 1e-3)))
PY
