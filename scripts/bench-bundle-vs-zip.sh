#!/usr/bin/env bash
# Times our bundle writer against `zip -X -r` plus the SPEC §6 sha256sum
# pipeline on the same 500 artifact files (~20 KB of realistic JSON each),
# and prints both medians and their ratio. Both sides start from the files
# on disk and end with a ZIP and the package checksum; ours also parses the
# JSON, hashes each file and writes the manifest.
#
# Uses hyperfine (and jq) when installed, else a bash loop with
# `date +%s%N`. RUNS sets the number of timed runs (default 15).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${RUNS:-15}"
for tool in zip sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench-bundle-vs-zip: needs $tool on PATH" >&2; exit 1; }
done

cargo build --release --quiet -p installhub-bundle --example write_fixture
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/write_fixture"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" files "$work/src"

zip_cmd="cd '$work/src' && rm -f '$work/zip.zip' && zip -X -r -q '$work/zip.zip' artifacts && find artifacts -type f | LC_ALL=C sort | xargs sha256sum | sha256sum >/dev/null"
ours_cmd="'$bin' bundle '$work/src' '$work/ours.zip' >/dev/null"

# Both sides must compute the same checksum over the same files.
ours_checksum="$("$bin" bundle "$work/src" "$work/ours.zip")"
coreutils_checksum="sha256:$(cd "$work/src" && find artifacts -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)"
if [[ "$ours_checksum" != "$coreutils_checksum" ]]; then
  echo "checksums differ: ours $ours_checksum, coreutils $coreutils_checksum" >&2
  exit 1
fi

median_ms_loop() {
  local cmd="$1" samples=() start end
  bash -c "$cmd" # warm-up
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    bash -c "$cmd"
    end=$(date +%s%N)
    samples+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1000 }'
}

if command -v hyperfine >/dev/null && command -v jq >/dev/null; then
  hyperfine --warmup 2 --runs "$runs" --export-json "$work/times.json" \
    -n 'zip -X -r + sha256sum' "$zip_cmd" \
    -n 'installhub write_fixture bundle' "$ours_cmd"
  zip_ms=$(jq '.results[0].median * 1000' "$work/times.json")
  ours_ms=$(jq '.results[1].median * 1000' "$work/times.json")
else
  zip_ms=$(median_ms_loop "$zip_cmd")
  ours_ms=$(median_ms_loop "$ours_cmd")
fi

files=$(find "$work/src/artifacts" -type f | wc -l)
json_bytes=$(cat "$work/src"/artifacts/*.json | wc -c)
echo
echo "files: $files, $json_bytes bytes of JSON; checksum $ours_checksum"
echo "zip -X -r output: $(stat -c %s "$work/zip.zip") bytes; ours: $(stat -c %s "$work/ours.zip") bytes"
awk -v z="$zip_ms" -v o="$ours_ms" -v n="$runs" 'BEGIN {
  printf "median of %d runs: zip -X -r + sha256sum %.1f ms, installhub %.1f ms, ratio ours/zip %.2f\n", n, z, o, o / z }'
