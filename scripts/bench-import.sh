#!/usr/bin/env bash
# Import benchmarks (release build, loopback, SQLite in a temporary data
# directory):
#
# 1. A 1,000-artifact Enterprise package (~20 KB of JSON each) imported end
#    to end over HTTP (upload, verify, scan, install, commit), median of
#    RUNS imports into fresh tenants, against `unzip -tq` plus `sha256sum`
#    of the same file.
# 2. Peak RSS (VmHWM) of the server process after importing a package of
#    each size in SIZES_MB (incompressible content, so the upload is about
#    as large as its content), one fresh server per size.
#
#   scripts/bench-import.sh [--compare OLD_BINARY]   RUNS=5 SIZES_MB="60 360" PAIRS=1
#
# INSTALLHUB_BIN=path runs another build of the server (an older commit's, say)
# instead of this one. --compare OLD_BINARY runs both, one after the other
# (part 1 once each, part 2 alternating PAIRS times per size, the floors
# timed again after each pair), and prints the server's CPU time as well.
#
# BENCH_POSTGRES=1 runs the server on a fresh PostgreSQL database (psql to
# 127.0.0.1:5432 as postgres, or BENCH_POSTGRES_ADMIN_URL) instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
old=""
while [ $# -gt 0 ]; do
  case "$1" in
    --compare) old="${2:?--compare needs a binary}"; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench-import: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
runs="${RUNS:-5}"
sizes="${SIZES_MB:-60 360}"
pairs="${PAIRS:-1}"
[ -z "$old" ] || [ -x "$old" ] || { echo "bench-import: $old is not an executable" >&2; exit 1; }
for tool in curl unzip sha256sum openssl bc; do
  command -v "$tool" >/dev/null || { echo "bench-import: needs $tool" >&2; exit 1; }
done

cargo build --release --quiet --bin installhub --example make_bundle
bin="${INSTALLHUB_BIN:-target/release/installhub}"
builds=("now:$bin")
[ -z "$old" ] || builds=("before:$old" "now:$bin")
make_bundle=target/release/examples/make_bundle
work=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; drop_databases; rm -rf "$work"; }
trap cleanup EXIT

db_args=()
if [ "${BENCH_POSTGRES:-0}" = 1 ]; then
  admin="${BENCH_POSTGRES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}"
fi
new_database() { # a fresh database per server start, dropped at exit
  [ "${BENCH_POSTGRES:-0}" = 1 ] || return 0
  db="ih_bench_$RANDOM$RANDOM"
  psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
  dbs+=("$db")
  db_args=(--database-url "${admin%/*}/$db")
}
dbs=()
drop_databases() {
  for db in "${dbs[@]}"; do psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true; done
}

start_server() { # binary
  local bin="$1"
  rm -rf "$work/data"
  new_database
  port=$((20000 + RANDOM % 20000))
  INSTALLHUB_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" "${db_args[@]}" >/dev/null 2>"$work/server.log" &
  pid=$!
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.05; done
  token=$("$bin" token --data-dir "$work/data" --tenant '*' --scope installhub:admin --scope installhub:import)
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

tenant() { # name → an empty Enterprise tenant
  curl -sf -X PUT "http://127.0.0.1:$port/api/installhub/tenants/$1" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","plan":"Enterprise","status":"Active"}' >/dev/null
}

import() { # file tenant → seconds, checks the answer
  local out
  out=$(curl -s -w '\n%{http_code} %{time_total}' -X POST "http://127.0.0.1:$port/api/installhub/packages/import" \
    -H "Authorization: Bearer $token" \
    -F "package=@$1;type=application/zip" \
    -F "options={\"targetTenantId\":\"$2\"};type=application/json")
  local status time
  read -r status time < <(tail -n1 <<<"$out")
  if [ "$status" != 200 ]; then echo "import failed ($status): $(head -c 600 <<<"$out")" >&2; exit 1; fi
  echo "$time"
}

median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }'; }

cpu_s() { # pid → seconds of CPU the process has used
  awk -v tck="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / tck }' "/proc/$1/stat"
}

# --- 1. 1,000 artifacts end to end. ---
"$make_bundle" "$work/k.zip" 1000 20000 text >/dev/null
for build in "${builds[@]}"; do
  start_server "${build#*:}"
  for i in $(seq 1 "$runs"); do tenant "tenant-bench-$i"; done
  tenant tenant-bench-warmup; import "$work/k.zip" tenant-bench-warmup >/dev/null
  import_s=$(for i in $(seq 1 "$runs"); do import "$work/k.zip" "tenant-bench-$i"; done | median)
  stop_server
  base_s=$(for _ in $(seq 1 "$runs"); do
    s=$(date +%s%N); unzip -tq "$work/k.zip" >/dev/null; sha256sum "$work/k.zip" >/dev/null; e=$(date +%s%N)
    echo "scale=6; ($e - $s) / 1000000000" | bc
  done | median)
  zip_mb=$(du -m "$work/k.zip" | cut -f1)
  printf '%s1,000 artifacts (%s MB zip): import %s s, unzip -t + sha256sum %s s, ratio %.1f\n' \
    "${old:+${build%%:*}: }" "$zip_mb" "$import_s" "$base_s" "$(echo "$import_s / $base_s" | bc -l)"
done

# --- 2. Peak RSS by package size. ---
for mb in $sizes; do
  per=$(( mb * 1000 * 1000 / 1000 * 4 / 3 ))   # content per artifact for ~mb of zip
  "$make_bundle" "$work/big.zip" 1000 "$per" random >/dev/null
  for _ in $(seq 1 "$pairs"); do
    results=()
    for build in "${builds[@]}"; do
      start_server "${build#*:}"
      tenant tenant-bench-rss
      idle_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
      cpu0=$(cpu_s "$pid")
      t=$(import "$work/big.zip" tenant-bench-rss)
      cpu=$(printf '%.2f' "$(echo "$(cpu_s "$pid") - $cpu0" | bc)")
      peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
      stop_server
      results+=("${build%%:*} $t $cpu $(( peak_kb / 1024 )) $(( idle_kb / 1024 ))")
    done
    # The floors of the same file in the same run: what any importer must at
    # least do (test the archive, hash the upload), and the hash alone.
    s=$(date +%s%N); unzip -tq "$work/big.zip" >/dev/null; sha256sum "$work/big.zip" >/dev/null; e=$(date +%s%N)
    unzip_s=$(echo "scale=6; ($e - $s) / 1000000000" | bc)
    s=$(date +%s%N); openssl dgst -sha256 "$work/big.zip" >/dev/null; e=$(date +%s%N)
    dgst_s=$(echo "scale=6; ($e - $s) / 1000000000" | bc)
    for result in "${results[@]}"; do
      read -r label t cpu peak_mib idle_mib <<<"$result"
      printf '%s%s MB zip (%s MB inflated): import %s s = %.2f x (unzip -tq + sha256sum %.2f s) = %.1f x (openssl dgst -sha256 %.2f s); server CPU %s s, peak RSS %d MiB (idle %d MiB)\n' \
        "${old:+$label: }" "$(du -m "$work/big.zip" | cut -f1)" "$(( per * 1000 / 1000000 ))" "$t" \
        "$(echo "$t / $unzip_s" | bc -l)" "$unzip_s" "$(echo "$t / $dgst_s" | bc -l)" "$dgst_s" \
        "$cpu" "$peak_mib" "$idle_mib"
    done
  done
  rm -f "$work/big.zip"
done
