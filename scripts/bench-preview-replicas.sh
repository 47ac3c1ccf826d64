#!/usr/bin/env bash
# Preview of the seed graph over HTTP with the database on PostgreSQL: one
# replica, then two replicas on the same database (as behind a load
# balancer; wrk drives each with half the connections), requests/s and p99
# at 64 connections in all. Needs wrk and psql; PostgreSQL at
# BENCH_POSTGRES_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/test).
#
#   scripts/bench-preview-replicas.sh [seconds]    (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
for tool in wrk psql; do
  command -v "$tool" >/dev/null || { echo "bench-preview-replicas: needs $tool" >&2; exit 1; }
done
admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"

cargo build --release --quiet --bin installhub
bin=target/release/installhub
work=$(mktemp -d)
db="ih_bench_$RANDOM$RANDOM"
psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
url="${admin%/*}/$db"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Both replicas verify tokens with the first one's key pair.
ports=()
for i in 0 1; do
  port=$((20000 + RANDOM % 20000))
  ports+=("$port")
  mkdir -p "$work/r$i/keys"
  [ "$i" = 1 ] && cp "$work/r0/keys/"* "$work/r1/keys/"
  demo=(); [ "$i" = 0 ] && demo=(--demo)
  INSTALLHUB_LOG=warn "$bin" serve "${demo[@]}" --listen "127.0.0.1:$port" --data-dir "$work/r$i" \
    --database-url "$url" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
done

token=$("$bin" token --data-dir "$work/r0" --tenant tenant-7f3a9b12 --scope installhub:export)
lua="$work/preview.lua"
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = '{"tenantId":"tenant-7f3a9b12","artifactIds":["proc-1001"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
path=/api/installhub/packages/preview
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else printf "%.3f", v*1000 }'; }
rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }
p99() { to_ms "$(awk '$1 == "99%" {print $2}' "$1")"; }

wrk -t2 -c64 -d2s -s "$lua" "http://127.0.0.1:${ports[0]}$path" >/dev/null
wrk -t2 -c64 -d"${duration}s" --latency -s "$lua" "http://127.0.0.1:${ports[0]}$path" >"$work/one.txt"
wrk -t1 -c32 -d"${duration}s" --latency -s "$lua" "http://127.0.0.1:${ports[0]}$path" >"$work/a.txt" &
first=$!
wrk -t1 -c32 -d"${duration}s" --latency -s "$lua" "http://127.0.0.1:${ports[1]}$path" >"$work/b.txt"
wait "$first"

printf '%-22s %12s %10s\n' setup 'requests/s' 'p99 (ms)'
printf '%-22s %12s %10s\n' '1 replica, PostgreSQL' "$(rps "$work/one.txt")" "$(p99 "$work/one.txt")"
printf '%-22s %12s %10s\n' '2 replicas, one DB' \
  "$(awk -v a="$(rps "$work/a.txt")" -v b="$(rps "$work/b.txt")" 'BEGIN { printf "%.2f", a + b }')" \
  "$(awk -v a="$(p99 "$work/a.txt")" -v b="$(p99 "$work/b.txt")" 'BEGIN { printf "%.3f", (a > b) ? a : b }')"
