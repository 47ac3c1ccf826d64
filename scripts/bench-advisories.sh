#!/usr/bin/env bash
# Measures the advisory index at OSV's scale: generates COUNT (default
# 200 000) synthetic, realistically shaped OSV records as an export zip,
# imports them into an index file, then, in a fresh process, loads the index
# and times library lookups. Prints load time, resident memory the loaded
# index adds, peak memory, and time per lookup.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
count="${COUNT:-200000}"

cargo build --release --quiet -p installhub-scan --example advisory_index
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/advisory_index"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin" generate "$work" "$count"
# Twice: the first load also pays for reading the file from disk.
"$bin" load "$work"
"$bin" load "$work"
