#!/usr/bin/env bash
# Loads the demo into a running writd: the local user as an administrator human, a group of
# bots, and two agents owned by that human. Idempotent: what exists already is left alone.
set -euo pipefail
writ=${1:-writ}
me=$(id -un | tr -c 'A-Za-z0-9._\n-' '-')

create() {
  local name=$1
  shift
  local output
  if output=$("$writ" identity create "$name" "$@" 2>&1); then
    echo "demo: created $name"
  elif grep -q "already exists" <<<"$output"; then
    echo "demo: $name already exists"
  else
    echo "demo: $output" >&2
    return 1
  fi
}

create "$me" --kind human --uid "$(id -u)" --description "the developer running make serve"
create bots --kind group --description "automation"
create triage-bot --owner "$me" --tier low --group bots --max-ttl 10m --label team=platform \
  --selector-uid "$(id -u)" --description "triages new GitHub issues" --reason "demo"
create deploy-bot --owner "$me" --tier high --group bots --max-ttl 5m \
  --selector-uid "$(id -u)" --description "deploys to staging; risky actions need approval" --reason "demo"
"$writ" identity list
