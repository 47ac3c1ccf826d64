#!/usr/bin/env bash
# Export of the seed package over HTTP (validate, resolve, write the bundle,
# store it, record the package), N exports one after another, on SQLite and
# then on a fresh PostgreSQL database: median milliseconds per export.
#
#   scripts/bench-export.sh [N]    (default 50; PostgreSQL at
#                                   BENCH_POSTGRES_ADMIN_URL, default
#                                   postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-50}"
admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
cargo build --release --quiet --bin installhub
bin=target/release/installhub
work=$(mktemp -d)
db="ih_bench_$RANDOM$RANDOM"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

run() { # label, extra serve args...
  local label="$1"; shift
  rm -rf "$work/data"
  local port=$((20000 + RANDOM % 20000))
  INSTALLHUB_LOG=warn "$bin" serve --demo --listen "127.0.0.1:$port" --data-dir "$work/data" \
    --export-limit-per-user 1000000 --export-limit-per-tenant 1000000 "$@" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  local token
  token=$("$bin" token --data-dir "$work/data" --tenant tenant-7f3a9b12 --scope installhub:export)
  local times=()
  for i in $(seq 1 "$n"); do
    times+=("$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST \
      "http://127.0.0.1:$port/api/installhub/packages/export" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d "{\"tenantId\":\"tenant-7f3a9b12\",\"packageName\":\"Bench\",\"packageType\":\"workflow-package\",\"version\":\"1.0.$i\",\"artifactIds\":[\"proc-1001\"]}")")
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  if printf '%s\n' "${times[@]}" | grep -qv '^200 '; then
    echo "$label: an export failed: $(printf '%s\n' "${times[@]}" | grep -v '^200 ' | head -1)" >&2
    exit 1
  fi
  printf '%s\n' "${times[@]}" | awk '{print $2 * 1000}' | sort -n |
    awk -v l="$label" '{ v[NR] = $1 } END { printf "%-12s median %.2f ms per export (%d exports)\n", l, v[int((NR + 1) / 2)], NR }'
}

run SQLite
psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
run PostgreSQL --database-url "${admin%/*}/$db"
