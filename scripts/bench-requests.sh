#!/usr/bin/env bash
# Authenticated requests against the framework's ceiling, side by side in
# one run: GET /healthz (no token, no database), an authenticated
# GET /api/installhub/tenants/{t} (token check + one query) and the preview
# of the seed graph (token check + tenant + graph), each with wrk -t2 -c64,
# printed as requests/s, p99 and their ratio to healthz on the same server.
# Needs wrk (apt-get install wrk); loopback only.
#
#   scripts/bench-requests.sh [--pg] [--compare OLD_BINARY] [seconds]
#
#   --pg                 also on PostgreSQL (a fresh database on
#                        BENCH_POSTGRES_ADMIN_URL, default
#                        postgres://postgres@127.0.0.1:5432/test; needs psql)
#   --compare OLD_BINARY also run an older build of installhub, so before and
#                        after come from the same run on the same machine
#   seconds              per measurement (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
pg=0
old=""
duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --pg) pg=1 ;;
    --compare) old="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) duration="$1" ;;
  esac
  shift
done
command -v wrk >/dev/null || { echo "bench-requests: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ "$pg" = 0 ] || command -v psql >/dev/null || { echo "bench-requests: --pg needs psql" >&2; exit 1; }
[ -z "$old" ] || [ -x "$old" ] || { echo "bench-requests: $old is not an executable" >&2; exit 1; }
admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"

cargo build --release --quiet --bin installhub
work=$(mktemp -d)
pid=""
db=""
stop_server() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
  if [ -n "$db" ]; then psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; db=""; fi
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT

to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else printf "%.3f", v*1000 }'
}
# Prints "requests/s p99-ms non-2xx-count" for one wrk run.
measure() {
  local out
  out=$(wrk -t2 -c64 -d"${duration}s" --latency "$@" 2>&1)
  local rps p99 bad
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
  echo "$rps $(to_ms "$p99") ${bad:-0}"
}

rows=()
# bench LABEL BINARY BACKEND
bench() {
  local label="$1" bin="$2" backend="$3"
  local data="$work/$label-$backend"
  local port
  local db_args=()
  mkdir -p "$data"
  if [ "$backend" = postgres ]; then
    db="ih_bench_$RANDOM$RANDOM"
    psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
    db_args=(--database-url "${admin%/*}/$db")
  fi
  # A random port may be taken (then the server exits at once): try another.
  local attempt ready=0
  for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 10000))
    INSTALLHUB_LOG=warn "$bin" serve --demo --listen "127.0.0.1:$port" --data-dir "$data" \
      "${db_args[@]}" >"$data.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
      curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && { ready=1; break; }
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    [ "$ready" = 1 ] && break
    wait "$pid" 2>/dev/null || true
    pid=""
  done
  [ "$ready" = 1 ] || { echo "bench-requests: the server did not start ($label, $backend):" >&2; cat "$data.log" >&2; exit 1; }
  local base="http://127.0.0.1:$port"
  local token
  token=$("$bin" token --data-dir "$data" --tenant tenant-7f3a9b12 --scope installhub:export)
  cat >"$work/tenant.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
  cat >"$work/preview.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"tenantId":"tenant-7f3a9b12","artifactIds":["proc-1001"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  # Each answer is checked once before it is timed.
  curl -sf -H "Authorization: Bearer $token" "$base/api/installhub/tenants/tenant-7f3a9b12" >/dev/null \
    || { echo "bench-requests: the tenant GET failed ($label, $backend)" >&2; exit 1; }
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"tenantId":"tenant-7f3a9b12","artifactIds":["proc-1001"]}' "$base/api/installhub/packages/preview" \
    | grep -q '"totalArtifacts":5' \
    || { echo "bench-requests: the preview failed ($label, $backend)" >&2; exit 1; }

  wrk -t2 -c64 -d2s -s "$work/preview.lua" "$base/api/installhub/packages/preview" >/dev/null
  local h t p
  read -r -a h < <(measure "$base/healthz")
  read -r -a t < <(measure -s "$work/tenant.lua" "$base/api/installhub/tenants/tenant-7f3a9b12")
  read -r -a p < <(measure -s "$work/preview.lua" "$base/api/installhub/packages/preview")
  stop_server
  for bad in "${h[2]}" "${t[2]}" "${p[2]}"; do
    [ "$bad" = 0 ] || { echo "bench-requests: $bad answers were not 2xx ($label, $backend)" >&2; exit 1; }
  done
  rows+=("$(awk -v l="$label" -v b="$backend" -v hr="${h[0]}" -v hp="${h[1]}" \
    -v tr="${t[0]}" -v tp="${t[1]}" -v pr="${p[0]}" -v pp="${p[1]}" 'BEGIN {
      printf "%-7s %-9s %10.0f %7.2f | %10.0f %7.2f %5.2f | %10.0f %7.2f %5.2f",
        l, b, hr, hp, tr, tp, tr / hr, pr, pp, pr / hr }')")
}

backends=(sqlite)
[ "$pg" = 1 ] && backends+=(postgres)
for backend in "${backends[@]}"; do
  [ -z "$old" ] || bench before "$old" "$backend"
  bench after target/release/installhub "$backend"
done

echo
printf '%-7s %-9s %10s %7s | %10s %7s %5s | %10s %7s %5s\n' \
  '' '' 'healthz' '' 'tenant GET' '' '' 'preview' '' ''
printf '%-7s %-9s %10s %7s | %10s %7s %5s | %10s %7s %5s\n' \
  build database 'req/s' 'p99 ms' 'req/s' 'p99 ms' ratio 'req/s' 'p99 ms' ratio
for row in "${rows[@]}"; do echo "$row"; done
echo "ratio: requests/s over healthz's on the same server (goals: tenant GET >= 0.35, preview >= 0.25 with p99 <= 10 ms)"
