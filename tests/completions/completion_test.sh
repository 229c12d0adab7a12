#!/usr/bin/env bash
# The generated completions (completions/generate.py) offer what the binaries parse: bash's, sourced and asked as
# bash asks them; zsh's and fish's parsed by their shells when those are installed.
# Usage: completion_test.sh COMPLETIONS_DIR
set -uo pipefail
dir=$1
failures=0

# offers WORDS... -- EXPECTED...: what the completion for the command line WORDS (the last one being completed)
# offers must be exactly EXPECTED (sorted).
offers() {
  local words=() expected=()
  while [[ $1 != -- ]]; do words+=("$1"); shift; done
  shift
  expected=("$@")
  # shellcheck disable=SC1090
  source "$dir/${words[0]}"
  COMP_WORDS=("${words[@]}")
  COMP_CWORD=$((${#words[@]} - 1))
  COMPREPLY=()
  local function_name
  function_name=$(complete -p "${words[0]}" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
  "$function_name"
  local got want
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
  want=$(printf '%s\n' "${expected[@]}" | sort | tr '\n' ' ')
  if [[ $got != "$want" ]]; then
    echo "FAIL: '${words[*]}<TAB>' offers [$got], expected [$want]"
    failures=$((failures + 1))
  else
    echo "ok: '${words[*]}<TAB>' offers [$got]"
  fi
}

offers pyfold record --nat -- --native --native-all
offers pyfold record --mode "" -- wall cpu gil
offers pyfold record --mode = c -- cpu
offers pyfold record --method "" -- remote inprocess auto
offers pyfold "" -- record top dump collapse diff help
offers pyfold top --win -- --window
offers pyfold help d -- dump diff
offers pyfold-record --nat -- --native --native-all
offers pyfold dump --as -- --async
offers pyflame-svg --sort "" -- name weight
offers pyflame-svg --colors py -- python
offers pyfold collapse --format ps -- pstats
offers pyfold diff --format au -- auto austin
offers pyflame-pprof --ver -- --version

# --pid offers the running Python processes: one started here must be among them, and this shell not.
python3 -c 'import time; time.sleep(60)' &
python_pid=$!
# python3 may be a wrapper (a pyenv shim) that becomes Python a moment later: wait until it has.
for _ in $(seq 100); do
  [[ $(readlink "/proc/$python_pid/exe" 2>/dev/null) == */python* ]] && break
  sleep 0.05
done
source "$dir/pyfold"
COMP_WORDS=(pyfold record --pid ""); COMP_CWORD=3; COMPREPLY=(); _pyfold
if [[ " ${COMPREPLY[*]} " == *" $python_pid "* && " ${COMPREPLY[*]} " != *" $$ "* ]]; then
  echo "ok: 'pyfold record --pid <TAB>' offers the Python process $python_pid"
else
  echo "FAIL: 'pyfold record --pid <TAB>' offers [${COMPREPLY[*]}], not the Python process $python_pid alone"
  failures=$((failures + 1))
fi
kill "$python_pid"

# Files after an option that takes one.
tmp=$(mktemp -d)
touch "$tmp/profile.folded"
offers pyflame-svg -o "$tmp/prof" -- "$tmp/profile.folded"
rm -r "$tmp"

# fish asked as it asks itself (complete -C), when installed.
if command -v fish >/dev/null; then
  got=$(fish -c "source $dir/pyfold.fish; complete -C 'pyfold record --nat'" | cut -f1 | sort | tr '\n' ' ')
  if [[ $got == "--native --native-all " ]]; then echo "ok: fish offers [$got] for 'pyfold record --nat'"
  else echo "FAIL: fish offers [$got] for 'pyfold record --nat', expected [--native --native-all]"; failures=$((failures + 1)); fi
fi

for shell_check in "zsh -n" "fish --no-execute"; do
  shell=${shell_check%% *}
  if ! command -v "$shell" >/dev/null; then
    echo "($shell not installed: its completions not parsed)"
    continue
  fi
  for f in "$dir"/*; do
    case $shell:$f in zsh:*/_*|fish:*.fish) ;; *) continue ;; esac
    if ! $shell_check "$f"; then
      echo "FAIL: $shell cannot parse $f"
      failures=$((failures + 1))
    fi
  done
  echo "ok: $shell parses its completions"
done

exit $((failures > 0))
