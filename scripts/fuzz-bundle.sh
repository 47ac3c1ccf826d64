#!/usr/bin/env bash
# Fuzzes the bundle reader (installhub_bundle::read_bundle) with cargo fuzz.
#
#   scripts/fuzz-bundle.sh [SECONDS] [TARGET]
#
# SECONDS defaults to 600; TARGET to read_bundle (the other target is
# read_bundle_mutated, see fuzz/README.md). Runs one libFuzzer process on
# a scratch corpus (FUZZ_CORPUS_DIR, default
# ${TMPDIR:-/tmp}/installhub-fuzz/corpus/TARGET, kept between runs) plus the
# tracked seeds in fuzz/seeds/TARGET, which libFuzzer only reads. Prints
# the final figures and exits non-zero when the run finds a crash, a timeout
# or an out-of-memory; the input is then in fuzz/artifacts/TARGET/.
#
# Environment:
#   CARGO_TARGET_DIR             build directory (default fuzz/target)
#   FUZZ_CORPUS_DIR              the scratch corpus, see above
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
seconds="${1:-600}"
target="${2:-read_bundle}"
case "$seconds" in
  '' | *[!0-9]*)
    echo "usage: $0 [SECONDS] [TARGET]" >&2
    exit 2
    ;;
esac
if [ ! -f "$fuzz_dir/fuzz_targets/$target.rs" ]; then
  echo "fuzz-bundle: no fuzz target '$target' in $fuzz_dir/fuzz_targets" >&2
  exit 2
fi

# cargo fuzz passes nightly-only flags (-Zsanitizer=address and friends).
# This machine has only the stable toolchain; RUSTC_BOOTSTRAP=1 lets stable
# rustc and cargo accept them. Only this script's builds see it, in their
# own target directory.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$fuzz_dir/target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-bundle: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

seeds="$fuzz_dir/seeds/$target"
if [ -z "$(ls -A "$seeds" 2>/dev/null)" ]; then
  echo "fuzz-bundle: writing the seeds" >&2
  (cd "$fuzz_dir" && cargo run --quiet --example make_seeds)
fi
corpus="${FUZZ_CORPUS_DIR:-${TMPDIR:-/tmp}/installhub-fuzz/corpus/$target}"
artifacts="$fuzz_dir/artifacts/$target"
mkdir -p "$corpus" "$artifacts"

build_start=$(date +%s)
cargo fuzz build --fuzz-dir "$fuzz_dir" "$target"
echo "fuzz-bundle: build took $(($(date +%s) - build_start)) s" >&2

log="$(mktemp "${TMPDIR:-/tmp}/fuzz-bundle-$target.XXXXXX.log")"
echo "fuzz-bundle: fuzzing $target for $seconds s (log: $log)" >&2
# libFuzzer's status is the pipeline's first; the grep only shows progress.
set +e +o pipefail
cargo fuzz run --fuzz-dir "$fuzz_dir" "$target" "$corpus" "$seeds" -- \
  -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=1024 -timeout=10 \
  -artifact_prefix="$artifacts/" -print_final_stats=1 2>&1 |
  tee "$log" |
  grep -E --line-buffered '^#[0-9]+[[:space:]]+(INITED|pulse|DONE)|^Done |panicked|ERROR|Test unit written'
status="${PIPESTATUS[0]}"
set -e -o pipefail

echo "--- $target: final figures ---"
grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
grep -E '^stat::' "$log" || true
if [ "$status" -ne 0 ] || grep -qE '^==[0-9]+==|Test unit written|panicked' "$log"; then
  echo "fuzz-bundle: FOUND a crash, timeout or OOM in $target (status $status):" >&2
  grep -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|Test unit written' -A1 "$log" >&2 || true
  echo "fuzz-bundle: minimise with: RUSTC_BOOTSTRAP=1 cargo fuzz tmin --fuzz-dir $fuzz_dir $target <file>" >&2
  exit 1
fi
echo "fuzz-bundle: $target ran clean for $seconds s"
