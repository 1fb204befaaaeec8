#!/bin/sh
# Side-by-side benchmark: the agent scenario decided by cedar-wasm (in Node) and by writ's engine
# (Google Benchmark), in one run, with the ratio.
#   cmake --preset bench && cmake --build --preset bench && bench/cedar-vs-wasm/run.sh build/bench
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/bench}
bench=$(cd "$build" && pwd)/bench/cedar/writ_cedar_bench
cd "$here"
[ -d node_modules/@cedar-policy/cedar-wasm ] || npm ci --no-audit --no-fund --loglevel=error
exec node compare.mjs "$bench"
