#!/usr/bin/env bash
# Benchmark a renderer of folded stacks (pyflame-speedscope or pyflame-pprof) against pyflame-svg on the same large
# generated profile: best wall time and largest peak RSS of a few runs of each, and whether the output holds every
# line as a sample (speedscope: the JSON's samples; pprof: what `go tool pprof -raw` reads back, when go is here).
#
# Usage: tests/bench/vs_svg.sh speedscope|pprof [--lines N] [--runs N] [--out DIR]
#        (tests/bench/speedscope.sh and tests/bench/pprof.sh run it for one renderer)
#
# Environment: PYFLAME_SPEEDSCOPE, PYFLAME_PPROF, PYFLAME_SVG [build/src/...], GEN_FOLDED [../shared/bench/gen_folded.py]
#
# Targets (issues 5 and 15): the renderer within 2x of pyflame-svg's wall time, and under 200 MB peak. Exit 1 if missed.
# Needs bash, python3 and GNU time (/usr/bin/time; Debian: apt-get install -y time).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "bench: $*" >&2; exit 2; }
case ${1:-} in
  speedscope) renderer=pyflame-speedscope bin_of_renderer=${PYFLAME_SPEEDSCOPE:-$repo/build/src/pyflame-speedscope} ;;
  pprof) renderer=pyflame-pprof bin_of_renderer=${PYFLAME_PPROF:-$repo/build/src/pyflame-pprof} ;;
  -h|--help) usage 0 ;;
  *) echo "bench: the first argument is the renderer: speedscope or pprof" >&2; usage 2 ;;
esac
shift
svg=${PYFLAME_SVG:-$repo/build/src/pyflame-svg}
gen=${GEN_FOLDED:-$repo/../shared/bench/gen_folded.py}
out=$here/out
runs=3
lines=200000

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
[ -x "$bin_of_renderer" ] || die "$renderer not found at $bin_of_renderer (build it: ninja -C build, or set its variable)"
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
for tool in pyflame-svg "$renderer"; do
  bin=$svg
  [ "$tool" = "$renderer" ] && bin=$bin_of_renderer
  for ((i = 1; i <= runs; i++)); do
    read -r w p c < <(measure "$tool" "$bin" "$input") || exit 1
    echo "bench: $tool run $i/$runs: $w s wall, $c s cpu, $((p / 1024)) MiB" >&2
    if [ -z "${wall[$tool]:-}" ] || awk -v a="$w" -v b="${wall[$tool]}" 'BEGIN { exit !(a < b) }'; then
      wall[$tool]=$w cpu[$tool]=$c
    fi
    if [ "$p" -gt "${peak[$tool]:-0}" ]; then peak[$tool]=$p; fi
  done
done
out_bytes=$(wc -c < "$tmp/$renderer.out")
if [ "$renderer" = pyflame-speedscope ]; then
  what="bytes JSON"
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["profiles"][0]["samples"]) == int(sys.argv[2])' \
    "$tmp/$renderer.out" "$lines" || die "the speedscope output does not hold $lines samples"
else
  what="bytes gzip pprof"
  # The profile must hold every line as a sample: Go's pprof reads it back (when go is installed).
  if command -v go >/dev/null; then
    samples=$(go tool pprof -raw "$tmp/$renderer.out" 2>/dev/null | awk '/^Samples:/ { on = 1; next } /^Locations/ { on = 0 } on && /^ +[0-9]+: / { n++ } END { print n + 0 }')
    [ "$samples" -eq "$lines" ] || die "go tool pprof reads $samples samples, not $lines"
  fi
fi

printf '%-20s %7s %7s %9s  %s\n' tool "wall s" "cpu s" "peak MiB" output
printf '%-20s %7.2f %7.2f %9.0f  %s\n' pyflame-svg "${wall[pyflame-svg]}" "${cpu[pyflame-svg]}" \
  "$(awk -v k="${peak[pyflame-svg]}" 'BEGIN { print k / 1024 }')" "$(wc -c < "$tmp/pyflame-svg.out") bytes SVG"
printf '%-20s %7.2f %7.2f %9.0f  %s\n' "$renderer" "${wall[$renderer]}" "${cpu[$renderer]}" \
  "$(awk -v k="${peak[$renderer]}" 'BEGIN { print k / 1024 }')" "$out_bytes $what"
ratio=$(awk -v a="${wall[$renderer]}" -v b="${wall[pyflame-svg]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
peak_mb=$(awk -v k="${peak[$renderer]}" 'BEGIN { printf "%.0f", k * 1024 / 1e6 }')
echo
echo "time ${renderer#pyflame-}/svg: ${ratio}x (target: at most 2x)"
echo "peak ${renderer#pyflame-}: ${peak_mb} MB (target: under 200 MB)"
awk -v r="$ratio" -v m="$peak_mb" 'BEGIN { exit !(r <= 2 && m < 200) }' || { echo "bench: a target was missed" >&2; exit 1; }
