#!/usr/bin/env bash
# Benchmark pyflame-svg (and flamegraph.pl when FLAMEGRAPH_PL is set) on large generated profiles.
#
# Usage: tests/bench/run.sh [--quick] [--lines N]... [--runs N] [--out DIR]
#   --quick     only the 20000-line profile (plus any --lines)
#   --lines N   also a profile of N lines (repeatable)
#   --runs N    pyflame-svg runs per input, the best wall time is reported [3]
#   --out DIR   where the generated profiles are kept and reused [tests/bench/out]
# Environment: FLAMEGRAPH_PL (flamegraph.pl; unset: pyflame-svg only), PYFLAME_SVG [build/src/pyflame-svg],
#              GEN_FOLDED [../shared/bench/gen_folded.py next to the repository].
# Needs bash, python3 and GNU time (/usr/bin/time; Debian: apt-get install -y time).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pyflame=${PYFLAME_SVG:-$repo/build/src/pyflame-svg}
gen=${GEN_FOLDED:-$repo/../shared/bench/gen_folded.py}
fg=${FLAMEGRAPH_PL:-}
out=$here/out
runs=3
sizes=(20000 200000)
extra=()

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "bench: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --quick) sizes=(20000) ;;
    --lines) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--lines needs a positive number"; extra+=("$2"); shift ;;
    --runs) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"; runs=$2; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench: unknown argument: $1" >&2; usage 2 ;;
  esac
  shift
done
sizes+=("${extra[@]+"${extra[@]}"}")

# GNU time: /usr/bin/time -f '%e %M %U %S' (wall s, peak RSS KiB, user s, system s); bash's `time` has no RSS.
if [ ! -x /usr/bin/time ] || ! /usr/bin/time -f '%e %M %U %S' true >/dev/null 2>&1; then
  die "GNU time not found at /usr/bin/time (needed for peak RSS); install it: apt-get install -y time"
fi
[ -x "$pyflame" ] || die "pyflame-svg not found at $pyflame (build it: ninja -C build, or set PYFLAME_SVG)"
[ -f "$gen" ] || die "gen_folded.py not found at $gen (set GEN_FOLDED)"
if [ -n "$fg" ] && [ ! -f "$fg" ]; then die "FLAMEGRAPH_PL=$fg: no such file"; fi
command -v python3 >/dev/null || die "python3 not found"
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyfold-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
[ -n "$model" ] || model=$(uname -m)
mem=$(awk '/^MemTotal:/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || echo "?")
echo "date:          $(date '+%Y-%m-%d %H:%M:%S %Z')"
echo "machine:       $(nproc) CPUs, $model, $mem RAM, $(uname -sr)"
echo "pyflame-svg:   $pyflame ($("$pyflame" --version 2>/dev/null | head -n1))"
if [ -n "$fg" ]; then
  echo "flamegraph.pl: $fg ($(perl -e 'printf "perl %vd", $^V'))"
else
  echo "flamegraph.pl: not run (set FLAMEGRAPH_PL=/path/to/flamegraph.pl to compare)"
fi
echo "method:        default options, SVG to /dev/null; wall = elapsed s (clock, ms), cpu = user + system s, peak = max RSS;"
echo "               pyflame-svg: best wall of $runs runs (cpu of that run, peak: the largest of the $runs runs);"
echo "               flamegraph.pl: 1 run; MiB = 2^20 bytes"

# measure CMD...: runs CMD > /dev/null under GNU time; prints "WALL_S PEAK_KIB CPU_S"; fails if CMD fails.
# GNU time reports wall time in 10 ms steps, too coarse for runs of 0.06 s: the wall time is taken from the
# clock around the run instead (in ms; it includes starting /usr/bin/time, about 1 ms).
measure() {
  local status=0 start end
  start=$(date +%s%N)
  /usr/bin/time -f '%e %M %U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" || status=$?
  end=$(date +%s%N)
  if [ "$status" -ne 0 ]; then
    echo "bench: failed (exit $status): $*" >&2
    sed 's/^/bench:   /' "$tmp/stderr" | tail -n 5 >&2
    return 1
  fi
  tail -n 1 "$tmp/time" | awk -v ns="$((end - start))" '{ printf "%.3f %s %.2f\n", ns / 1e9, $2, $3 + $4 }'
}

rows=()
for n in "${sizes[@]}"; do
  input=$out/gen_$n.folded
  if [ ! -s "$input" ]; then
    echo "bench: generating $input (gen_folded.py $n)..." >&2
    python3 "$gen" "$n" > "$input.part"
    mv "$input.part" "$input"
  fi
  bytes=$(wc -c < "$input")
  size=$(awk -v b="$bytes" 'BEGIN { printf "%.0f MiB", b / 1048576 }')

  best_wall= best_cpu= py_peak=0
  for ((i = 1; i <= runs; i++)); do
    read -r wall peak cpu < <(measure "$pyflame" "$input") || exit 1
    echo "bench: $n lines, pyflame-svg run $i/$runs: ${wall} s wall, ${cpu} s cpu, $((peak / 1024)) MiB" >&2
    if [ -z "$best_wall" ] || awk -v a="$wall" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
      best_wall=$wall best_cpu=$cpu
    fi
    if [ "$peak" -gt "$py_peak" ]; then py_peak=$peak; fi
  done
  rows+=("$n|$size|pyflame-svg|$best_wall|$best_cpu|$py_peak||")

  if [ -n "$fg" ]; then
    echo "bench: $n lines, flamegraph.pl (1 run)..." >&2
    read -r wall peak cpu < <(measure perl "$fg" "$input") || exit 1
    echo "bench: $n lines, flamegraph.pl: ${wall} s wall, ${cpu} s cpu, $((peak / 1024)) MiB" >&2
    speed=$(awk -v a="$wall" -v b="$best_wall" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    memr=$(awk -v a="$peak" -v b="$py_peak" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
    rows+=("$n|$size|flamegraph.pl|$wall|$cpu|$peak|$speed|$memr")
  fi
done

echo
printf '%-13s %9s  %-14s %7s %7s %9s  %11s %11s\n' input size tool "wall s" "cpu s" "peak MiB" \
  "time fg/py" "mem fg/py"
for r in "${rows[@]}"; do
  IFS='|' read -r n size tool wall cpu peak speed memr <<< "$r"
  printf '%-13s %9s  %-14s %7.3f %7.2f %9.0f  %11s %11s\n' "gen $n" "$size" "$tool" "$wall" "$cpu" \
    "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')" "$speed" "$memr"
done
if [ -n "$fg" ]; then
  echo "time fg/py: flamegraph.pl wall / pyflame-svg best wall; mem fg/py: flamegraph.pl peak / pyflame-svg peak"
fi
