#!/usr/bin/env bash
# The request table of scripts/bench-requests.sh with the database on
# PostgreSQL, on one replica and on two replicas of one database (as behind
# a load balancer: wrk drives each with half the connections, 64 in all):
# GET /healthz (no token, no database), an authenticated
# GET /api/installhub/tenants/{t} and the preview of the seed graph, as
# requests/s, p99 and the ratio to healthz in the same setup. Needs wrk and
# psql; PostgreSQL at BENCH_POSTGRES_ADMIN_URL (default
# postgres://postgres@127.0.0.1:5432/test). INSTALLHUB_BIN=PATH runs
# another build (an older commit's, for before and after).
#
#   scripts/bench-replicas.sh [seconds]    (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
for tool in wrk psql bc; do
  command -v "$tool" >/dev/null || { echo "bench-replicas: needs $tool" >&2; exit 1; }
done
admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"

cargo build --release --quiet --bin installhub
bin="${INSTALLHUB_BIN:-target/release/installhub}"
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
cat > "$work/preview.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"tenantId":"tenant-7f3a9b12","artifactIds":["proc-1001"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat > "$work/tenant.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
: > "$work/healthz.lua"
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else printf "%.3f", v*1000 }'; }
rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }
p99() { to_ms "$(awk '$1 == "99%" {print $2}' "$1")"; }
bad() { awk '/Non-2xx or 3xx responses/ {n = $NF} END {print n + 0}' "$1"; }

# Prints "requests/s p99-ms" of one request on one replica (-c64) or on
# both at once (-c32 each: summed requests/s, the worse p99).
measure() { # name path replicas
  local name=$1 path=$2 n=$3
  if [ "$n" = 1 ]; then
    wrk -t2 -c64 -d"${duration}s" --latency -s "$work/$name.lua" "http://127.0.0.1:${ports[0]}$path" >"$work/$name.1.txt"
    [ "$(bad "$work/$name.1.txt")" = 0 ] || { echo "bench-replicas: $name answered errors" >&2; exit 1; }
    echo "$(rps "$work/$name.1.txt") $(p99 "$work/$name.1.txt")"
  else
    wrk -t1 -c32 -d"${duration}s" --latency -s "$work/$name.lua" "http://127.0.0.1:${ports[0]}$path" >"$work/$name.a.txt" &
    local first=$!
    wrk -t1 -c32 -d"${duration}s" --latency -s "$work/$name.lua" "http://127.0.0.1:${ports[1]}$path" >"$work/$name.b.txt"
    wait "$first"
    for f in a b; do [ "$(bad "$work/$name.$f.txt")" = 0 ] || { echo "bench-replicas: $name answered errors" >&2; exit 1; }; done
    awk -v a="$(rps "$work/$name.a.txt")" -v b="$(rps "$work/$name.b.txt")" \
        -v pa="$(p99 "$work/$name.a.txt")" -v pb="$(p99 "$work/$name.b.txt")" \
        'BEGIN { printf "%.2f %.3f\n", a + b, (pa > pb) ? pa : pb }'
  fi
}

tenant_path=/api/installhub/tenants/tenant-7f3a9b12
preview_path=/api/installhub/packages/preview
# Warm both replicas (connections, the token cache, the kept graph).
for port in "${ports[@]}"; do
  wrk -t2 -c64 -d2s -s "$work/preview.lua" "http://127.0.0.1:$port$preview_path" >/dev/null
  wrk -t2 -c64 -d2s -s "$work/tenant.lua" "http://127.0.0.1:$port$tenant_path" >/dev/null
done

printf '%-10s %-28s %12s %10s %8s\n' replicas request 'requests/s' 'p99 (ms)' 'ratio'
for n in 1 2; do
  read -r h_rps h_p99 < <(measure healthz /healthz "$n")
  printf '%-10s %-28s %12s %10s %8s\n' "$n" 'GET /healthz' "$h_rps" "$h_p99" 1.00
  read -r t_rps t_p99 < <(measure tenant "$tenant_path" "$n")
  printf '%-10s %-28s %12s %10s %8.2f\n' "$n" 'GET tenants/{t} (token)' "$t_rps" "$t_p99" "$(echo "$t_rps / $h_rps" | bc -l)"
  read -r p_rps p_p99 < <(measure preview "$preview_path" "$n")
  printf '%-10s %-28s %12s %10s %8.2f\n' "$n" 'preview of the seed graph' "$p_rps" "$p_p99" "$(echo "$p_rps / $h_rps" | bc -l)"
done
