#!/usr/bin/env bash
# Exports over HTTP (validate, resolve, write the bundle, store it, record
# the package), one after another, on SQLite and then on a fresh PostgreSQL
# database:
#
# 1. the seed package, N exports: median milliseconds per export;
# 2. a 500-artifact closure of about 10 MB of definitions (the bundle
#    benchmark's fixture, imported into an Enterprise tenant by
#    `write_fixture package`), BIG exports, each followed by the floor:
#    `zip -X -r` plus the SPEC §6 sha256sum pipeline over the same artifact
#    files (unzipped from the first export): both medians and their ratio.
#
#   scripts/bench-export.sh [N]    (default 50; BIG=15; PostgreSQL at
#                                   BENCH_POSTGRES_ADMIN_URL, default
#                                   postgres://postgres@127.0.0.1:5432/test;
#                                   INSTALLHUB_BIN=PATH runs that server)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-50}"
big="${BIG:-15}"
for tool in curl jq zip unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench-export: needs $tool" >&2; exit 1; }
done
admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
# INSTALLHUB_BIN runs another build of the server (an older one, to compare).
[ -n "${INSTALLHUB_BIN:-}" ] || cargo build --release --quiet --bin installhub
cargo build --release --quiet -p installhub-bundle --example write_fixture
bin="${INSTALLHUB_BIN:-target/release/installhub}"
work=$(mktemp -d)
target/release/examples/write_fixture package "$work/closure.zip" >/dev/null
roots=$(seq 49 50 499 | awk '{ printf "%s\"%05d-artifact\"", (NR > 1 ? "," : ""), $1 }')
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
  if printf '%s\n' "${times[@]}" | grep -qv '^200 '; then
    echo "$label: an export failed: $(printf '%s\n' "${times[@]}" | grep -v '^200 ' | head -1)" >&2
    exit 1
  fi
  printf '%s\n' "${times[@]}" | awk '{print $2 * 1000}' | sort -n |
    awk -v l="$label" '{ v[NR] = $1 } END { printf "%-12s median %.2f ms per export (%d exports)\n", l, v[int((NR + 1) / 2)], NR }'
  closure "$label" "$port"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

median_ms() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

closure() { # label, port: part 2 against the running server
  local label="$1" port="$2" admin_token out status
  admin_token=$("$bin" token --data-dir "$work/data" --tenant '*' --scope installhub:admin \
    --scope installhub:import --scope installhub:export)
  curl -sf -X PUT "http://127.0.0.1:$port/api/installhub/tenants/tenant-bench-export" \
    -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","plan":"Enterprise","status":"Active"}' >/dev/null
  status=$(curl -s -o "$work/import.json" -w '%{http_code}' -X POST "http://127.0.0.1:$port/api/installhub/packages/import" \
    -H "Authorization: Bearer $admin_token" -F "package=@$work/closure.zip;type=application/zip" \
    -F 'options={"targetTenantId":"tenant-bench-export"};type=application/json')
  [ "$status" = 200 ] || { echo "$label: seeding import failed ($status): $(head -c 600 "$work/import.json")" >&2; exit 1; }
  local ours=() floor=() start end
  rm -rf "$work/floor"; mkdir -p "$work/floor"
  for i in $(seq 1 "$big"); do
    out=$(curl -s -o "$work/export.json" -w '%{http_code} %{time_total}' -X POST \
      "http://127.0.0.1:$port/api/installhub/packages/export" \
      -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
      -d "{\"tenantId\":\"tenant-bench-export\",\"packageName\":\"Closure\",\"packageType\":\"workflow-package\",\"version\":\"1.0.$i\",\"artifactIds\":[$roots]}")
    [ "${out%% *}" = 200 ] || { echo "$label: a closure export failed: $out $(head -c 600 "$work/export.json")" >&2; exit 1; }
    [ "$(jq .artifactCount "$work/export.json")" = 500 ] || { echo "$label: the closure is not 500 artifacts" >&2; exit 1; }
    ours+=("$(awk -v t="${out#* }" 'BEGIN { print t * 1000 }')")
    if [ "$i" = 1 ]; then
      curl -sf -o "$work/export.zip" -H "Authorization: Bearer $admin_token" \
        "http://127.0.0.1:$port$(jq -r .bundleDownloadUrl "$work/export.json")"
      unzip -q "$work/export.zip" -d "$work/floor"
    fi
    start=$(date +%s%N)
    (cd "$work/floor" && rm -f ../floor.zip && zip -X -r -q ../floor.zip artifacts &&
      find artifacts -type f | LC_ALL=C sort | xargs sha256sum | sha256sum >/dev/null)
    end=$(date +%s%N)
    floor+=("$(( (end - start) / 1000 ))")
  done
  local files bytes ours_ms floor_ms
  files=$(find "$work/floor/artifacts" -type f | wc -l)
  bytes=$(cat "$work/floor"/artifacts/*.json | wc -c)
  ours_ms=$(printf '%s\n' "${ours[@]}" | median_ms)
  floor_ms=$(printf '%s\n' "${floor[@]}" | awk '{ print $1 / 1000 }' | median_ms)
  awk -v l="$label" -v f="$files" -v b="$bytes" -v o="$ours_ms" -v z="$floor_ms" -v n="$big" 'BEGIN {
    printf "%-12s %d artifacts, %d bytes: median of %d: export %.1f ms, zip -X -r + sha256sum %.1f ms, ratio %.2f\n", l, f, b, n, o, z, o / z }'
}

run SQLite
psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
run PostgreSQL --database-url "${admin%/*}/$db"
