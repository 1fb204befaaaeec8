#!/usr/bin/env bash
# AuthZEN evaluation throughput of writd against two references started here, all on loopback,
# measured with the same wrk command in one run: nginx answering a constant {"decision":true}
# (the HTTP ceiling) and a Node PDP on @cedar-policy/cedar-wasm (what a user would build).
# writd runs twice: audit durability batched, then strict. For each: writd's own median time per
# decision (from GET /metrics), then an open-loop run at half the measured peak (openloop.cpp, the
# latency counted from each request's scheduled time) for p99. Usage: bench/authz/run.sh [seconds]
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
g++ -O2 -std=c++20 -o "$work/openloop" "$here/openloop.cpp"
# The request body of post.lua, for the open-loop generator.
sed -n "s/^wrk.body = '\(.*\)' ..$/\1/p; s/^ *'\(.*\)'$/\1/p" "$here/post.lua" | tr -d '\n' > "$work/body.json"

# CPU time (user + system, in clock ticks) of processes $@ and their threads, from /proc.
cpu_ticks() { local total=0 pid; for pid in "$@"; do
  total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo "$total"; }

measure() {  # name url [pids to charge CPU to] -> prints "name req/s p50 p99 [CPU per request]"
  local out before after
  before=$(cpu_ticks "${@:3}")
  out=$("${wrk_cmd[@]}" "$2" 2>&1)
  after=$(cpu_ticks "${@:3}")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
  local requests cpu=""
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  if [[ $# -gt 2 && -n "$requests" && "$requests" -gt 0 ]]; then
    cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "CPU %.1f us/request", t / hz * 1e6 / n }')
  fi
  printf '%-16s %10s req/s  p50 %-8s p99 %-8s %s %s\n' "$1" "$rps" "$p50" "$p99" "$cpu" "${non2xx:+non-2xx: $non2xx}"
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
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' 2>"$work/nginx/stderr" & nginx_pid=$!; pids+=($nginx_pid)
wait_port 18480

node "$here/node-pdp.js" 18481 "$scenario/policies.cedar" "$scenario/entities.json" & node_pid=$!; pids+=($node_pid)
wait_port 18481

start_writd() {  # durability
  local dir="$work/writd-$1"
  mkdir -p "$dir"
  printf 'threads: %s\nlog:\n  level: warn\n' "${WRITD_THREADS:-2}" > "$dir/writd.yaml"
  WRIT_PDP_API_KEY=bench-key WRIT_AUDIT_DURABILITY="$1" "$build/src/main/writd" --config "$dir/writd.yaml" \
    --data-dir "$dir/data" --listen-tcp 127.0.0.1:18482 2>"$dir/log" & writd_pid=$!
  pids+=($writd_pid)
  wait_port 18482
  WRIT_SOCKET="$dir/data/writd.sock" "$build/src/main/writ" policy apply "$scenario" --activate >/dev/null
}

# writd's median time per decision, interpolated in its writ_decision_duration_seconds histogram.
decision_median() {
  curl -s -H "Authorization: Bearer bench-key" http://127.0.0.1:18482/metrics | awk '
    /^writ_decision_duration_seconds_bucket/ { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5);
                                               n++; bound[n] = le; count[n] = $2 }
    END { total = count[n]; if (total == 0) { print "n/a"; exit }
          previous = 0; below = 0
          for (i = 1; i <= n; i++) { if (count[i] >= total / 2) {
              if (bound[i] == "+Inf") { print "> " previous * 1e6 " us"; exit }
              printf "%.1f us (%d decisions)\n", (previous + (bound[i] - previous) * (total / 2 - below) / (count[i] - below)) * 1e6, total; exit }
            previous = bound[i]; below = count[i] } }'
}

# Open loop at half the rate wrk measured for $1, against port $2 (default: writd).
open_loop() {
  local rate
  rate=$(awk -v r="$(cat "$work/$1.rps")" 'BEGIN { printf "%d", r / 2 }')
  printf '%-16s open loop: ' "${3:-$1}"
  "$work/openloop" 127.0.0.1 "${2:-18482}" /access/v1/evaluation "$work/body.json" "Bearer bench-key" "$rate" "$duration" 32 1
}

measure_writd() {  # durability
  start_writd "$1"
  measure "writd-$1" http://127.0.0.1:18482/access/v1/evaluation "$writd_pid"
  printf '%-16s server-side median per decision: %s\n' "writd-$1" "$(decision_median)"
  open_loop "writd-$1"
  kill "$writd_pid"; wait "$writd_pid" 2>/dev/null || true
}

echo "date: $(date -u +%FT%TZ)  machine: $(nproc) cores, $(uname -r)  load: $(cut -d' ' -f1-3 /proc/loadavg)  command: ${wrk_cmd[*]} URL"
measure nginx http://127.0.0.1:18480/access/v1/evaluation $nginx_pid $(pgrep -P $nginx_pid)
measure node-cedar-wasm http://127.0.0.1:18481/access/v1/evaluation $node_pid
measure_writd batched
# The same open loop against nginx: what this machine's scheduling adds to any server's p99.
open_loop writd-batched 18480 nginx
measure_writd strict

ratio() { awk -v a="$(cat "$work/$1.rps")" -v b="$(cat "$work/$2.rps")" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "writd-batched / nginx = $(ratio writd-batched nginx)   writd-strict / nginx = $(ratio writd-strict nginx)"
echo "writd-batched / node  = $(ratio writd-batched node-cedar-wasm)   writd-strict / node = $(ratio writd-strict node-cedar-wasm)"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
