#!/bin/sh
# Installs the Node test dependencies (jose) from package-lock.json, once.
set -e
cd "$(dirname "$0")"
[ -d node_modules/jose ] || npm ci --no-audit --no-fund --silent
