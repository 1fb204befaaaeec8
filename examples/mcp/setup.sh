#!/usr/bin/env bash
# Loads the MCP demo into a running writd (started by `make serve`): the agent docs-bot and the
# policy set in policies/, with the project folder's real path. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
writ=${WRIT:-$root/build/release/src/main/writ}
me=$(id -un | tr -c 'A-Za-z0-9._\n-' '-')

if out=$("$writ" identity create docs-bot --owner "$me" --tier medium --description "reads the demo project" \
          --reason "examples/mcp demo" 2>&1); then
  echo "mcp demo: created agent docs-bot"
elif grep -q "already exists" <<<"$out"; then
  echo "mcp demo: agent docs-bot already exists"
else
  echo "mcp demo: $out" >&2
  exit 1
fi

policies=$(mktemp -d)
trap 'rm -rf "$policies"' EXIT
sed "s|@PROJECT@|$here/project|g" "$here/policies/fs.cedar.in" > "$policies/fs.cedar"
"$writ" policy apply "$policies" --activate --reason "examples/mcp demo"
"$root/tests/gateway/node/setup"
echo "mcp demo: ready; the project folder is $here/project"
