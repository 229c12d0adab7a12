#!/usr/bin/env bash
# Captures tests/unit/data/snapshots/3.X.snap.gz: runs target.py under each interpreter given (default: every
# pyenv 3.8-3.13 and Debian's /usr/bin/python3.11), waits until it says "ready", and runs capture-snapshot on it.
# Usage: tests/unit/snapshots/make.sh BUILD_DIR [PYTHON...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1; shift
capture="$build/tests/unit/capture-snapshot"
out="$here/../data/snapshots"
mkdir -p "$out"
pythons=("$@")
if [ ${#pythons[@]} -eq 0 ]; then
  for minor in 8 9 10 11 12 13; do
    for p in /root/.pyenv/versions/3.$minor.*/bin/python3.$minor; do [ -x "$p" ] && pythons+=("$p"); done
  done
  [ -x /usr/bin/python3.11 ] && pythons+=(/usr/bin/python3.11)
fi
for python in "${pythons[@]}"; do
  version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  name=$version; [ "$python" = /usr/bin/python3.11 ] && name=$version-debian-static
  said=$(mktemp)
  "$python" "$here/target.py" > "$said" &
  pid=$!
  for _ in $(seq 100); do grep -q ready "$said" && break; sleep 0.1; done
  grep -q ready "$said" || { kill $pid; echo "make.sh: $python did not get ready" >&2; exit 1; }
  rm -f "$said"
  sleep 0.3  # the thread that printed "ready" ends
  "$capture" "$pid" "$out/$name.snap.gz"
  kill $pid; wait $pid 2>/dev/null || true
done
