#!/usr/bin/env bash
# Benchmark pyfold collapse against stackcollapse-perf.pl on a large perf script.
#
# Usage: STACKCOLLAPSE_PERF_PL=/path/to/stackcollapse-perf.pl tests/bench/collapse_perf.sh [--mb N] [--runs N]
#   --mb N     size of the input in MB [50]
#   --runs N   pyfold-collapse runs, the best wall time is reported [3]
# The input is the perf script fixtures recorded here (tests/golden/data/pyfold-collapse/py313-jit.perf and
# c-fp.perf: real `perf script` output, Python 3.13 perf_jit stacks and C stacks with kernel frames) repeated until
# it reaches the size, written once to tests/bench/out/perf-NMB.txt. Both tools read it from the page cache and
# write to /dev/null; the outputs are compared once (they must be equal).
# Environment: PYFOLD_COLLAPSE [build/src/pyfold-collapse]; STACKCOLLAPSE_PERF_PL unset: pyfold only.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
collapse=${PYFOLD_COLLAPSE:-$repo/build/src/pyfold-collapse}
script=${STACKCOLLAPSE_PERF_PL:-}
mb=50
runs=3
while [ $# -gt 0 ]; do
  case $1 in
    --mb) mb=$2; shift ;;
    --runs) runs=$2; shift ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$collapse" ] || { echo "bench: no $collapse (ninja -C build)" >&2; exit 2; }
data=$repo/tests/golden/data/pyfold-collapse
mkdir -p "$here/out"
input=$here/out/perf-${mb}MB.txt
if [ ! -f "$input" ]; then
  echo "bench: writing $input" >&2
  : > "$input"
  while [ "$(stat -c %s "$input")" -lt $((mb * 1000000)) ]; do
    cat "$data/py313-jit.perf" "$data/c-fp.perf" >> "$input"
  done
fi
now() { date +%s.%N; }
best=
for _ in $(seq "$runs"); do
  t0=$(now); "$collapse" --format perf "$input" > /dev/null; t1=$(now)
  t=$(echo "$t1 - $t0" | bc -l)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "input:    $input ($(stat -c %s "$input") bytes, $(wc -l < "$input") lines)"
printf 'pyfold-collapse:        %.3f s (best of %d)\n' "$best" "$runs"
if [ -n "$script" ]; then
  t0=$(now); perl "$script" "$input" > "$here/out/perl.folded"; t1=$(now)
  t=$(echo "$t1 - $t0" | bc -l)
  "$collapse" --format perf "$input" > "$here/out/pyfold.folded"
  if cmp -s "$here/out/perl.folded" "$here/out/pyfold.folded"; then same=same; else same="DIFFERENT (Python frames are written differently; see tests/compat)"; fi
  printf 'stackcollapse-perf.pl:  %.3f s (1 run), output %s\n' "$t" "$same"
  printf 'ratio:                  %.1fx\n' "$(echo "$t / $best" | bc -l)"
fi
