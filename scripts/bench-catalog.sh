#!/usr/bin/env bash
# The catalog at scale (release build, loopback, a temporary data directory):
# one Enterprise tenant holding 100,000 artifacts in graphs of 500, filled
# through the store's install transaction (examples/catalog_fixture.rs),
# and a tenant holding only the 500 of one of them, the same graph.
#
# 1. Preview of the 500-artifact closure of `core-app-0` in the big tenant:
#    cached (the graph kept for the catalog generation) with wrk at 64
#    connections (requests/s, p99) and at one connection (p50, p99); and
#    uncached, each preview right after a write to another artifact of the
#    tenant (which raises its generation), median and p99 of RUNS curl
#    requests, in the big tenant and in the small one.
# 2. Export of that closure (validate, resolve, write, store, record):
#    median of RUNS exports, big tenant and small one.
# 3. Import of a fresh 1,000-artifact package (two graphs of 500) into the
#    big tenant and into an empty one, median of RUNS each.
#
# Ratios are against floors measured in the same run: healthz for requests
# per second, the small tenant for preview and export, the empty tenant for
# the import.
#
#   scripts/bench-catalog.sh [--pg] [--compare OLD_BINARY] [seconds]
#                                                   RUNS=15 COUNT=100000
#
# CLOSURE_DEFINITION_KB=N pads each definition of the measured closure (the
# 500 of core-app-0, in both tenants) by about N KB, for previews and
# exports of large definitions.
#
#   --pg (or BENCH_POSTGRES=1)  also on PostgreSQL, a fresh database on
#                               BENCH_POSTGRES_ADMIN_URL (default
#                               postgres://postgres@127.0.0.1:5432/test),
#                               dropped at exit; needs psql
#   --compare OLD_BINARY        also serve with an older build of installhub
#                               (same catalog, filled anew), so before and
#                               after come from one run on one machine; a
#                               build older than the store's newest migration
#                               cannot open what this build's fixture filled:
#                               set OLD_FIXTURE to that build's
#                               examples/catalog_fixture
#   seconds                     per wrk measurement (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
pg="${BENCH_POSTGRES:-0}"
old=""
duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --pg) pg=1 ;;
    --compare) old="$2"; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) duration="$1" ;;
  esac
  shift
done
runs="${RUNS:-15}"
count="${COUNT:-100000}"
admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "bench-catalog: needs $tool" >&2; exit 1; }
done
[ -z "$old" ] || [ -x "$old" ] || { echo "bench-catalog: $old is not an executable" >&2; exit 1; }
[ "$pg" = 0 ] || command -v psql >/dev/null || { echo "bench-catalog: --pg needs psql" >&2; exit 1; }

cargo build --release --quiet --bin installhub --example catalog_fixture
fixture=target/release/examples/catalog_fixture
work=$(mktemp -d)
pid=""
db=""
stop_server() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
}
drop_database() {
  if [ -n "$db" ]; then psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; db=""; fi
}
cleanup() { stop_server; drop_database; rm -rf "$work"; }
trap cleanup EXIT

to_ms() { # wrk prints 1.23ms, 456.00us or 1.20s
  awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else printf "%.3f", v*1000 }'
}
# "requests/s p50-ms p99-ms non-2xx" of one wrk run.
measure() {
  local out rps p50 p99 bad
  out=$(wrk -d"${duration}s" --latency "$@" 2>&1)
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
  echo "$rps $(to_ms "$p50") $(to_ms "$p99") ${bad:-0}"
}
# Median and p99 (nearest rank) of numbers on stdin.
stats() { sort -n | awk '{ v[NR] = $1 } END { r = int(NR * 0.99 + 0.999); printf "%.2f %.2f\n", v[int((NR + 1) / 2)], v[r] }'; }

# --- The packages imported in 3, one per run and the warm-up. ---
for k in $(seq 0 "$runs"); do "$fixture" bundle "$work/imp$k.zip" "imp$k" 1000; done

# bench LABEL BINARY BACKEND: fills, measures, prints one block.
bench() {
  local label="$1" bin="$2" backend="$3" data="$work/data-$1-$3" url
  rm -rf "$data"; mkdir -p "$data"
  if [ "$backend" = postgres ]; then
    db="ih_bench_$RANDOM$RANDOM"
    psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
    url="${admin%/*}/$db"
  else
    url="sqlite://$data/installhub.db?mode=rwc"
  fi
  echo "[$label, $backend] filling…" >&2
  local fill="$fixture"
  [ "$label" = before ] && [ -n "${OLD_FIXTURE:-}" ] && fill="$OLD_FIXTURE"
  "$fill" fill "$url" tenant-catalog "$count" >&2
  "$fill" fill "$url" tenant-small 500 >/dev/null

  local attempt ready=0 port
  for attempt in 1 2 3; do
    port=$((20000 + RANDOM % 20000))
    INSTALLHUB_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" --database-url "$url" \
      --export-limit-per-user 1000000 --export-limit-per-tenant 1000000 >"$data/server.log" 2>&1 &
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
  [ "$ready" = 1 ] || { echo "bench-catalog: the server did not start ($backend):" >&2; cat "$data/server.log" >&2; exit 1; }
  local base="http://127.0.0.1:$port/api/installhub" token
  token=$("$bin" token --data-dir "$data" --tenant '*' --scope installhub:admin --scope installhub:import \
    --scope installhub:export --scope installhub:artifacts:write)
  local auth=(-H "Authorization: Bearer $token")
  local json=(-H 'Content-Type: application/json')
  local preview_body='{"tenantId":"tenant-catalog","artifactIds":["core-app-0"]}'

  # The closure is exactly the 500 of core-app-0's graph in both tenants.
  for t in tenant-catalog tenant-small; do
    curl -sf "${auth[@]}" "${json[@]}" -d "{\"tenantId\":\"$t\",\"artifactIds\":[\"core-app-0\"]}" \
      "$base/packages/preview" | grep -q '"totalArtifacts":500,' \
      || { echo "bench-catalog: the preview in $t is not the 500-artifact closure" >&2; exit 1; }
  done

  # 1. Preview, cached.
  cat >"$work/preview.lua" <<LUA
wrk.method = "POST"
wrk.body = '$preview_body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  wrk -t2 -c64 -d2s -s "$work/preview.lua" "$base/packages/preview" >/dev/null
  local h c s
  read -r -a h < <(measure -t2 -c64 "http://127.0.0.1:$port/healthz")
  read -r -a c < <(measure -t2 -c64 -s "$work/preview.lua" "$base/packages/preview")
  read -r -a s < <(measure -t1 -c1 -s "$work/preview.lua" "$base/packages/preview")
  for bad in "${h[3]}" "${c[3]}" "${s[3]}"; do
    [ "$bad" = 0 ] || { echo "bench-catalog: $bad answers were not 2xx ($backend)" >&2; exit 1; }
  done

  # 1. Preview, uncached: a write to an artifact outside the closure, then
  # the timed preview.
  uncached() { # tenant → "code seconds" lines in $work/uncached-TENANT
    local t="$1" i
    for i in $(seq 1 "$runs"); do
      curl -sf -o /dev/null -X PUT "${auth[@]}" "${json[@]}" "$base/tenants/$t/artifacts/bench-extra" \
        -d "{\"type\":\"EntitySchema\",\"name\":\"Extra\",\"version\":\"1.0.$i\",\"status\":\"Published\",\"definition\":{\"n\":$i}}" \
        || { echo "bench-catalog: the write to $t failed" >&2; exit 1; }
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "${auth[@]}" "${json[@]}" \
        -d "{\"tenantId\":\"$t\",\"artifactIds\":[\"core-app-0\"]}" "$base/packages/preview"
    done >"$work/uncached-$t"
  }
  # Milliseconds of a file of "code seconds" lines, all of which must be 200.
  ms_of() {
    if grep -qv '^200 ' "$1"; then
      echo "bench-catalog: a request failed ($backend): $(grep -v '^200 ' "$1" | head -1)" >&2
      exit 1
    fi
    awk '{ print $2 * 1000 }' "$1"
  }
  uncached tenant-catalog
  uncached tenant-small
  local ub us
  ms_of "$work/uncached-tenant-catalog" >"$work/ub"
  ms_of "$work/uncached-tenant-small" >"$work/us"
  read -r -a ub < <(stats <"$work/ub")
  read -r -a us < <(stats <"$work/us")

  # 2. Export.
  export_ms() { # tenant → "code seconds" lines in $work/export-TENANT
    local t="$1" i
    for i in $(seq 1 "$runs"); do
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X POST "${auth[@]}" "${json[@]}" "$base/packages/export" \
        -d "{\"tenantId\":\"$t\",\"packageName\":\"Core\",\"packageType\":\"app-package\",\"version\":\"1.0.$i\",\"artifactIds\":[\"core-app-0\"]}"
    done >"$work/export-$t"
  }
  export_ms tenant-catalog
  export_ms tenant-small
  local eb es
  ms_of "$work/export-tenant-catalog" >"$work/eb"
  ms_of "$work/export-tenant-small" >"$work/es"
  read -r -a eb < <(stats <"$work/eb")
  read -r -a es < <(stats <"$work/es")

  # 3. Import of fresh artifacts, into the big tenant and into empty ones,
  # alternating so drift hits both alike.
  tenant() {
    curl -sf -o /dev/null -X PUT "${auth[@]}" "${json[@]}" "$base/tenants/$1" \
      -d '{"name":"Bench","plan":"Enterprise","status":"Active"}'
  }
  import() { # file tenant → ms
    local out status time
    out=$(curl -s -w '\n%{http_code} %{time_total}' -X POST "${auth[@]}" "$base/packages/import" \
      -F "package=@$1;type=application/zip" \
      -F "options={\"targetTenantId\":\"$2\"};type=application/json")
    read -r status time < <(tail -n1 <<<"$out")
    [ "$status" = 200 ] || { echo "bench-catalog: import failed ($status): $(head -c 600 <<<"$out")" >&2; exit 1; }
    awk -v t="$time" 'BEGIN { print t * 1000 }'
  }
  tenant tenant-warmup
  import "$work/imp0.zip" tenant-warmup >/dev/null
  local k
  : >"$work/import-big"; : >"$work/import-empty"
  for k in $(seq 1 "$runs"); do
    tenant "tenant-empty-$k"
    import "$work/imp$k.zip" "tenant-empty-$k" >>"$work/import-empty"
    import "$work/imp$k.zip" tenant-catalog >>"$work/import-big"
  done
  local ib ie
  read -r -a ib < <(stats <"$work/import-big")
  read -r -a ie < <(stats <"$work/import-empty")
  stop_server
  drop_database

  awk -v b="$label, $backend" -v n="$count" -v hr="${h[0]}" -v cr="${c[0]}" -v cp99="${c[2]}" \
    -v s50="${s[1]}" -v s99="${s[2]}" -v ub50="${ub[0]}" -v ub99="${ub[1]}" -v us50="${us[0]}" \
    -v eb="${eb[0]}" -v es="${es[0]}" -v ib="${ib[0]}" -v ie="${ie[0]}" 'BEGIN {
      printf "\n%s, %d artifacts in the tenant, closure of 500\n", b, n
      printf "  healthz                 %9.0f req/s (64 connections)\n", hr
      printf "  preview, cached         %9.0f req/s (%.2f of healthz), p99 %.2f ms at 64 connections\n", cr, cr / hr, cp99
      printf "                          one connection: p50 %.2f ms, p99 %.2f ms\n", s50, s99
      printf "  preview after a write   p50 %.2f ms, p99 %.2f ms (500-artifact tenant: p50 %.2f ms, ratio %.2f)\n", ub50, ub99, us50, ub50 / us50
      printf "  export                  median %.1f ms (500-artifact tenant: %.1f ms, ratio %.2f)\n", eb, es, eb / es
      printf "  import 1,000 artifacts  median %.0f ms (empty tenant: %.0f ms, ratio %.2f)\n", ib, ie, ib / ie
    }'
}

backends=(sqlite)
[ "$pg" = 1 ] && backends+=(postgres)
for backend in "${backends[@]}"; do
  [ -z "$old" ] || bench before "$old" "$backend"
  bench after target/release/installhub "$backend"
done
echo
echo "goal: preview p50 <= 10 ms at 100,000 artifacts; ratios near 1 mean the catalog's size does not show"
