#!/usr/bin/env bash
# Builds the libFuzzer targets (clang++, ASAN+UBSAN) in build-fuzz and runs each one.
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]      default: 30 seconds each, every target
#   Each target first replays its regression inputs (tests/fuzz/regressions/TARGET/, crashes found before), then
#   fuzzes from its seed corpus (tests/fuzz/corpus/TARGET/, copied, so the seeds stay as committed) for SECONDS.
#   A crash, leak or sanitizer report fails the run; the input that did it is left in build-fuzz/artifacts/TARGET/.
#   Long runs: tests/fuzz/run.sh 1800.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${1:-30}
shift || true
build=$repo/build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ meson setup "$build" "$repo" -Dfuzzers=true -Dtests=disabled -Dman-pages=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=plain -Doptimization=1 -Dcpp_args=-g1 >/dev/null
fi
ninja -C "$build" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(find "$build/tests/fuzz" -maxdepth 1 -type f -name "fuzz-*" -perm -u+x -printf "%f\n" | sed "s/^fuzz-//" | sort))
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp
status=0
for target in "${targets[@]}"; do
  binary=$build/tests/fuzz/fuzz-$target
  [ -x "$binary" ] || { echo "fuzz: no target $target" >&2; exit 2; }
  work=$build/corpus/$target artifacts=$build/artifacts/$target/
  mkdir -p "$work" "$artifacts"
  cp -n "$here/corpus/$target"/* "$work"/ 2>/dev/null || true
  dict=()
  [ -f "$here/$target.dict" ] && dict=(-dict="$here/$target.dict")
  regressions=("$here/regressions/$target"/*)
  if [ -e "${regressions[0]}" ]; then
    "$binary" "${regressions[@]}" >/dev/null 2>"$build/$target.regressions.log" ||
      { echo "fuzz $target: a regression input fails again:"; tail -30 "$build/$target.regressions.log"; status=1; continue; }
  fi
  if "$binary" "${dict[@]}" -max_total_time="$seconds" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" -print_final_stats=1 "$work" >"$build/$target.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$target.log")
    echo "fuzz $target: ${seconds}s, ${runs:-?} executions, no finding"
  else
    echo "fuzz $target: FOUND A PROBLEM (input in $artifacts):"
    grep -E "ERROR|SUMMARY|not well-formed|runtime error|==[0-9]+==" "$build/$target.log" | head -20
    status=1
  fi
done
exit $status
