#!/usr/bin/env bash
# Benchmark pyflame-pprof against pyflame-svg on the same large generated profile: tests/bench/vs_svg.sh pprof.
# Usage: tests/bench/pprof.sh [--lines N] [--runs N] [--out DIR]
exec "$(dirname "${BASH_SOURCE[0]}")/vs_svg.sh" pprof "$@"
