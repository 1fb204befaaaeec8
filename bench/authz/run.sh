#!/usr/bin/env bash
# AuthZEN evaluation throughput of writd against two references started here, all on loopback,
# measured with the same wrk command in one run: nginx answering a constant {"decision":true}
# (the HTTP ceiling) and a Node PDP on @cedar-policy/cedar-wasm (what a user would build).
# writd runs twice: audit durability batched, then strict. Usage: bench/authz/run.sh [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${1:-10}
build=${WRIT_BUILD_DIR:-$root/build/release}
wrk_cmd=(wrk -t2 -c32 -d"${duration}s" --latency -s "$here/post.lua")
work=$(mktemp -d /tmp/writ-bench-authz-XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
scenario="$root/tests/integration/authzen/gateway"

[[ -d "$here/node_modules/@cedar-policy/cedar-wasm" ]] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null)

measure() {  # name url -> prints "name req/s p50 p99"
  local out
  out=$("${wrk_cmd[@]}" "$2" 2>&1)
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  printf '%-16s %10s req/s  p50 %-8s p99 %-8s %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:+non-2xx: $non2xx}"
  echo "$rps" > "$work/$1.rps"
}

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# nginx: the ceiling.
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  server {
    listen 127.0.0.1:18480;
    location / { default_type application/json; return 200 '{"decision":true}'; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>"$work/nginx/stderr" & pids+=($!)
wait_port 18480

node "$here/node-pdp.js" 18481 "$scenario/policies.cedar" "$scenario/entities.json" & pids+=($!)
wait_port 18481

start_writd() {  # durability
  local dir="$work/writd-$1"
  mkdir -p "$dir"
  printf 'threads: %s\nlog:\n  level: warn\n' "${WRITD_THREADS:-32}" > "$dir/writd.yaml"
  WRIT_PDP_API_KEY=bench-key WRIT_AUDIT_DURABILITY="$1" "$build/src/main/writd" --config "$dir/writd.yaml" \
    --data-dir "$dir/data" --listen-tcp 127.0.0.1:18482 2>"$dir/log" & writd_pid=$!
  pids+=($writd_pid)
  wait_port 18482
  WRIT_SOCKET="$dir/data/writd.sock" "$build/src/main/writ" policy apply "$scenario" --activate >/dev/null
}

echo "date: $(date -u +%FT%TZ)  machine: $(nproc) cores, $(uname -r)  command: ${wrk_cmd[*]} URL"
measure nginx http://127.0.0.1:18480/access/v1/evaluation
measure node-cedar-wasm http://127.0.0.1:18481/access/v1/evaluation
start_writd batched
measure writd-batched http://127.0.0.1:18482/access/v1/evaluation
kill "$writd_pid"; wait "$writd_pid" 2>/dev/null || true
start_writd strict
measure writd-strict http://127.0.0.1:18482/access/v1/evaluation
kill "$writd_pid"; wait "$writd_pid" 2>/dev/null || true

ratio() { awk -v a="$(cat "$work/$1.rps")" -v b="$(cat "$work/$2.rps")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "writd-batched / nginx = $(ratio writd-batched nginx)   writd-strict / nginx = $(ratio writd-strict nginx)"
echo "writd-batched / node  = $(ratio writd-batched node-cedar-wasm)   writd-strict / node = $(ratio writd-strict node-cedar-wasm)"
