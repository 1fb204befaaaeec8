#!/bin/sh
# Differential test against the reference: installs cedar-wasm (npm ci, into this folder's
# node_modules, never committed) and compares decisions on random policies and requests.
#   tests/cedar/differential/run.sh build/release [cases] [seed]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/release}
tool=$(cd "$build" && pwd)/tests/cedar/cedar_difftool
cd "$here"
[ -d node_modules/@cedar-policy/cedar-wasm ] || npm ci --no-audit --no-fund --loglevel=error
exec node diff.mjs "$tool" "${2:-2000}" "${3:-1}"
