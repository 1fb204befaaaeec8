#!/usr/bin/env bash
# Cost of shadow evaluation: AuthZEN evaluation throughput of one writd (audit batched) with no
# policy set staged, then with the active set staged again as a shadow (every decision evaluated
# twice, all agreeing), alternated `rounds` times with the same wrk command as run.sh.
# Usage: bench/authz/shadow.sh [seconds] [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${1:-10}
rounds=${2:-2}
build=${WRIT_BUILD_DIR:-$root/build/release}
wrk_cmd=(wrk -t2 -c32 -d"${duration}s" --latency -s "$here/post.lua")
work=$(mktemp -d /tmp/writ-bench-shadow-XXXXXX)
writd_pid=
cleanup() { [[ -n "$writd_pid" ]] && kill "$writd_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
scenario="$root/tests/integration/authzen/gateway"
url=http://127.0.0.1:18483/access/v1/evaluation

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
measure() {  # name -> "name req/s p50 p99"
  local out
  out=$("${wrk_cmd[@]}" "$url" 2>&1)
  printf '%-10s %10s req/s  p50 %-8s p99 %-8s load %s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(cut -d' ' -f1 /proc/loadavg)"
}
writ() { WRIT_SOCKET="$work/data/writd.sock" "$build/src/main/writ" "$@" >/dev/null; }

printf 'threads: %s\nlog:\n  level: warn\n' "${WRITD_THREADS:-32}" > "$work/writd.yaml"
WRIT_PDP_API_KEY=bench-key WRIT_AUDIT_DURABILITY=batched "$build/src/main/writd" --config "$work/writd.yaml" \
  --data-dir "$work/data" --listen-tcp 127.0.0.1:18483 2>"$work/log" & writd_pid=$!
wait_port 18483
writ policy apply "$scenario" --activate
writ policy apply "$scenario"  # version 2: the same policies, to stage as the shadow

echo "date: $(date -u +%FT%TZ)  machine: $(nproc) cores  command: ${wrk_cmd[*]} $url"
for _ in $(seq "$rounds"); do
  measure no-shadow
  writ policy stage 2
  measure shadow
  writ policy unstage
done
