#!/usr/bin/env bash
# Benchmark pyflame-speedscope against pyflame-svg on the same large generated profile: tests/bench/vs_svg.sh speedscope.
# Usage: tests/bench/speedscope.sh [--lines N] [--runs N] [--out DIR]
exec "$(dirname "${BASH_SOURCE[0]}")/vs_svg.sh" speedscope "$@"
