#!/usr/bin/env bash
# Benchmark pyflame-pprof (folded -> gzip pprof) against pyflame-svg on the same large generated profile.
#
# Usage: tests/bench/pprof.sh [--lines N] [--runs N] [--out DIR]
#   --lines N   profile size in lines, from gen_folded.py N [200000]
#   --runs N    runs per tool; each run is measured by /usr/bin/time -v (wall time and peak RSS of that same run);
#               the table shows the run with the best wall time, and the largest peak of all runs [3]
#   --out DIR   where the generated profile is kept and reused [tests/bench/out]
# Environment: PYFLAME_PPROF [build/src/pyflame-pprof], PYFLAME_SVG [build/src/pyflame-svg],
#              GEN_FOLDED [../shared/bench/gen_folded.py next to the repository].
# Target (issue 15): pyflame-pprof within 2x of pyflame-svg's wall time (and under 200 MB peak). Exit 1 if missed.
# Needs bash, python3 and GNU time (/usr/bin/time; Debian: apt-get install -y time).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
pprof=${PYFLAME_PPROF:-$repo/build/src/pyflame-pprof}
svg=${PYFLAME_SVG:-$repo/build/src/pyflame-svg}
gen=${GEN_FOLDED:-$repo/../shared/bench/gen_folded.py}
out=$here/out
runs=3
lines=200000

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "bench: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case $1 in
    --lines) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--lines needs a positive number"; lines=$2; shift ;;
    --runs) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--runs needs a positive number"; runs=$2; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench: unknown argument: $1" >&2; usage 2 ;;
  esac
  shift
done

if [ ! -x /usr/bin/time ] || ! /usr/bin/time -v true >/dev/null 2>&1; then
  die "GNU time not found at /usr/bin/time (needed for peak RSS); install it: apt-get install -y time"
fi
[ -x "$pprof" ] || die "pyflame-pprof not found at $pprof (build it: ninja -C build, or set PYFLAME_PPROF)"
[ -x "$svg" ] || die "pyflame-svg not found at $svg (build it: ninja -C build, or set PYFLAME_SVG)"
[ -f "$gen" ] || die "gen_folded.py not found at $gen (set GEN_FOLDED)"
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pyfold-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

input=$out/gen_$lines.folded
if [ ! -s "$input" ]; then
  echo "bench: generating $input (gen_folded.py $lines)..." >&2
  python3 "$gen" "$lines" > "$input.part"
  mv "$input.part" "$input"
fi
bytes=$(wc -c < "$input")

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)
echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
echo "machine:  $(nproc) CPUs, ${model:-$(uname -m)}, $(uname -sr)"
echo "input:    $input ($lines lines, $(awk -v b="$bytes" 'BEGIN { printf "%.0f MiB", b / 1048576 }'))"
echo "method:   default options, output to a file in $tmp; each run under /usr/bin/time -v (wall clock and"
echo "          maximum resident set size of the same run); best wall of $runs runs, largest peak of $runs runs"

# measure NAME CMD...: one run; prints "WALL_S PEAK_KIB CPU_S"; the output goes to $tmp/NAME.out.
measure() {
  local name=$1 status=0
  shift
  /usr/bin/time -v -o "$tmp/time" "$@" > "$tmp/$name.out" 2> "$tmp/stderr" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "bench: failed (exit $status): $*" >&2
    tail -n 5 "$tmp/stderr" >&2
    return 1
  fi
  awk -F': ' '
    /Elapsed \(wall clock\) time/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
    /Maximum resident set size/ { peak = $2 }
    /User time \(seconds\)/ { user = $2 }
    /System time \(seconds\)/ { sys = $2 }
    END { printf "%.2f %d %.2f\n", wall, peak, user + sys }' "$tmp/time"
}

declare -A wall peak cpu
for tool in pyflame-svg pyflame-pprof; do
  bin=$svg
  [ "$tool" = pyflame-pprof ] && bin=$pprof
  for ((i = 1; i <= runs; i++)); do
    read -r w p c < <(measure "$tool" "$bin" "$input") || exit 1
    echo "bench: $tool run $i/$runs: $w s wall, $c s cpu, $((p / 1024)) MiB" >&2
    if [ -z "${wall[$tool]:-}" ] || awk -v a="$w" -v b="${wall[$tool]}" 'BEGIN { exit !(a < b) }'; then
      wall[$tool]=$w cpu[$tool]=$c
    fi
    if [ "$p" -gt "${peak[$tool]:-0}" ]; then peak[$tool]=$p; fi
  done
done
out_bytes=$(wc -c < "$tmp/pyflame-pprof.out")
# The profile must hold every line as a sample: Go's pprof reads it back (when go is installed).
if command -v go >/dev/null; then
  samples=$(go tool pprof -raw "$tmp/pyflame-pprof.out" 2>/dev/null | awk '/^Samples:/ { on = 1; next } /^Locations/ { on = 0 } on && /^ +[0-9]+: / { n++ } END { print n + 0 }')
  [ "$samples" -eq "$lines" ] || die "go tool pprof reads $samples samples, not $lines"
fi
echo
printf '%-20s %7s %7s %9s  %s\n' tool "wall s" "cpu s" "peak MiB" output
printf '%-20s %7.2f %7.2f %9.0f  %s\n' pyflame-svg "${wall[pyflame-svg]}" "${cpu[pyflame-svg]}" \
  "$(awk -v k="${peak[pyflame-svg]}" 'BEGIN { print k / 1024 }')" "$(wc -c < "$tmp/pyflame-svg.out") bytes SVG"
printf '%-20s %7.2f %7.2f %9.0f  %s\n' pyflame-pprof "${wall[pyflame-pprof]}" "${cpu[pyflame-pprof]}" \
  "$(awk -v k="${peak[pyflame-pprof]}" 'BEGIN { print k / 1024 }')" "$out_bytes bytes gzip pprof"
ratio=$(awk -v a="${wall[pyflame-pprof]}" -v b="${wall[pyflame-svg]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
peak_mb=$(awk -v k="${peak[pyflame-pprof]}" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }')
echo
echo "time pprof/svg: ${ratio}x (target: at most 2x)"
echo "peak pprof:          ${peak_mb} MB (target: under 200 MB)"
awk -v r="$ratio" -v m="$peak_mb" 'BEGIN { exit !(r <= 2 && m < 200) }' || { echo "bench: a target was missed" >&2; exit 1; }
