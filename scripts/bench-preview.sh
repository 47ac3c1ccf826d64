#!/usr/bin/env bash
# Preview of the seed graph over HTTP against a trivial route of the same
# server: requests/s and p99 latency at 64 connections, and their ratio.
# Needs wrk (apt-get install wrk). Runs a release build on loopback only.
#
#   scripts/bench-preview.sh [seconds]    (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet --bin installhub
bin=target/release/installhub
data=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

INSTALLHUB_LOG=warn "$bin" serve --demo --listen "127.0.0.1:$port" --data-dir "$data" >/dev/null &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

token=$("$bin" token --data-dir "$data" --tenant tenant-7f3a9b12 --scope installhub:export)
lua=$(mktemp --suffix=.lua)
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = '{"tenantId":"tenant-7f3a9b12","artifactIds":["proc-1001"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA

run() { wrk -t2 -c64 -d"${duration}s" --latency "$@" 2>&1; }
summary() {
  local rps p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$1")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$1")
  echo "$rps $p99"
}
to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else printf "%.3f", v*1000 }'
}

echo "warming up…"; wrk -t2 -c64 -d2s -s "$lua" "http://127.0.0.1:$port/api/installhub/packages/preview" >/dev/null
read -r p_rps p_p99 < <(summary "$(run -s "$lua" "http://127.0.0.1:$port/api/installhub/packages/preview")")
read -r h_rps h_p99 < <(summary "$(run "http://127.0.0.1:$port/healthz")")
rm -f "$lua"

printf '%-10s %12s %10s\n' route 'requests/s' 'p99 (ms)'
printf '%-10s %12s %10s\n' preview "$p_rps" "$(to_ms "$p_p99")"
printf '%-10s %12s %10s\n' healthz "$h_rps" "$(to_ms "$h_p99")"
awk -v a="$p_rps" -v b="$h_rps" -v c="$(to_ms "$p_p99")" -v d="$(to_ms "$h_p99")" \
  'BEGIN { printf "preview/healthz: throughput %.2f, p99 %.2fx\n", a/b, c/d }'
