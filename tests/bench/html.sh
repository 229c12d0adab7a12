#!/usr/bin/env bash
# Benchmark pyflame-html against pyflame-svg on the same large generated profile: best wall time, CPU time and
# largest peak RSS of a few runs of each, and the page's size. (Opening the page in Chromium is timed by
# tests/browser/html.test.mjs, which prints it.)
#
# Usage: tests/bench/html.sh [--lines N] [--runs N] [--out DIR]
#
# Environment: PYFLAME_HTML, PYFLAME_SVG [build/src/...], GEN_FOLDED [../shared/bench/gen_folded.py]
# Needs bash, python3 and GNU time (/usr/bin/time; Debian: apt-get install -y time).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "bench: $*" >&2; exit 2; }
html=${PYFLAME_HTML:-$repo/build/src/pyflame-html}
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
/usr/bin/time -v true >/dev/null 2>&1 || die "GNU time not found at /usr/bin/time; install it: apt-get install -y time"
[ -x "$html" ] || die "pyflame-html not found at $html (build it: ninja -C build, or set PYFLAME_HTML)"
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

echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
echo "machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(uname -sr)"
echo "input:    $input ($lines lines, $(( $(wc -c < "$input") / 1048576 )) MiB)"
echo "method:   default options, output to a file; best wall and CPU of $runs runs, largest peak (/usr/bin/time -v)"

# measure CMD...: one run; prints "WALL_S PEAK_KIB CPU_S".
measure() {
  /usr/bin/time -v -o "$tmp/time" "$@" > /dev/null 2> "$tmp/stderr" || { tail -n 5 "$tmp/stderr" >&2; return 1; }
  awk -F': ' '
    /Elapsed \(wall clock\) time/ { n = split($2, p, ":"); wall = 0; for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
    /Maximum resident set size/ { peak = $2 }
    /User time \(seconds\)/ { user = $2 }
    /System time \(seconds\)/ { sys = $2 }
    END { printf "%.2f %d %.2f\n", wall, peak, user + sys }' "$tmp/time"
}

declare -A wall peak cpu
for tool in pyflame-svg pyflame-html; do
  bin=$svg outfile=$tmp/out.svg
  [ "$tool" = pyflame-html ] && bin=$html outfile=$tmp/out.html
  for ((i = 1; i <= runs; i++)); do
    read -r w p c < <(measure "$bin" "$input" -o "$outfile") || die "$tool failed"
    echo "bench: $tool run $i/$runs: $w s wall, $c s cpu, $((p / 1024)) MiB" >&2
    if [ -z "${wall[$tool]:-}" ] || awk -v a="$w" -v b="${wall[$tool]}" 'BEGIN { exit !(a < b) }'; then wall[$tool]=$w; fi
    if [ -z "${cpu[$tool]:-}" ] || awk -v a="$c" -v b="${cpu[$tool]}" 'BEGIN { exit !(a < b) }'; then cpu[$tool]=$c; fi
    if [ "$p" -gt "${peak[$tool]:-0}" ]; then peak[$tool]=$p; fi
  done
done
# The page holds every sample: its total is the input's.
python3 - "$tmp/out.html" "$input" <<'PY' || die "the page's total is not the input's"
import json, re, sys
page = open(sys.argv[1], "rb").read()
data = json.loads(re.search(rb'id="pyfold-data">(.*?)</script>', page, re.S).group(1))
total = sum(int(line.rsplit(None, 1)[1]) for line in open(sys.argv[2]) if line.strip())
assert data["total"] == total, (data["total"], total)
PY
printf '%-14s %7s %7s %9s  %s\n' tool "wall s" "cpu s" "peak MiB" output
for tool in pyflame-svg pyflame-html; do
  file=$tmp/out.svg
  [ "$tool" = pyflame-html ] && file=$tmp/out.html
  printf '%-14s %7.2f %7.2f %9.0f  %s bytes\n' "$tool" "${wall[$tool]}" "${cpu[$tool]}" \
    "$(awk -v k="${peak[$tool]}" 'BEGIN { print k / 1024 }')" "$(wc -c < "$file")"
done
echo "time html/svg: $(awk -v a="${wall[pyflame-html]}" -v b="${wall[pyflame-svg]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')x (cpu: $(awk -v a="${cpu[pyflame-html]}" -v b="${cpu[pyflame-svg]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')x)"
