#!/usr/bin/env bash
# Times installhub-scan against `grep -E -c` with the same FAIL/WARN keyword
# alternation on the same corpus: ~50 MB of clean, realistic definitions
# (workflows with scripts, placeholders, forms, mail bodies, https URLs), one
# compact JSON definition per line, written by the scan_corpus example.
#
# Prints both throughputs and their ratio. grep is the floor of "look for the
# words": it reads raw bytes, decodes nothing, stops at each line's first
# match (-c), and knows no JSON pointers. The scanner walks parsed JSON (the
# parse is not timed, as in the server), checks every string and key, and
# decodes what it suspects.
#
# MB sets the corpus size (default 50), RUNS the timed runs (default 5).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mb="${MB:-50}"
runs="${RUNS:-5}"
command -v grep >/dev/null || { echo "bench-scan-vs-grep: needs grep on PATH" >&2; exit 1; }

cargo build --release --quiet -p installhub-scan --example scan_corpus
bin="${CARGO_TARGET_DIR:-$root/target}/release/examples/scan_corpus"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
corpus="$work/corpus.jsonl"

ours="$("$bin" "$corpus" "$mb" "$runs")"
echo "$ours" | sed 's/^/scan_corpus: /'
bytes="$(echo "$ours" | awk '$1 == "bytes" { print $2 }')"
findings="$(echo "$ours" | awk '$1 == "findings" { print $2 }')"
ours_mb_s="$(echo "$ours" | awk '$1 == "median_mb_s" { print $2 }')"
ours_warm_mb_s="$(echo "$ours" | awk '$1 == "after_parse_median_mb_s" { print $2 }')"
import_mb_s="$(echo "$ours" | awk '$1 == "import_path_median_mb_s" { print $2 }')"
import_cpu_mb_s="$(echo "$ours" | awk '$1 == "import_path_cpu_median_mb_s" { print $2 }')"
cores="$(echo "$ours" | awk '$1 == "cores" { print $2 }')"

# The rules' keywords (FAIL: code execution, modules, prototype pollution,
# template escapes; WARN: secrets, plain http) as one extended regex.
pattern='eval\(|Function\(|setTimeout\(|setInterval\(|child_process|exec\(|spawn\(|Runtime\.getRuntime|ProcessBuilder|System\.Diagnostics\.Process|Process\.Start|os\.system|subprocess|require\(|import\(|__proto__|constructor\.constructor|\{\{|\$\{|#\{|<%|PRIVATE KEY|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|xox[bp]-|Bearer [A-Za-z0-9._-]{20,}|eyJ[A-Za-z0-9_-]+\.eyJ|password|secret|http://'

# Clean definitions are full of `{{input.x}}` placeholders, so with the bare
# template openers in the pattern every line matches early and `grep -c`
# skips the rest of it. The second pattern leaves them out: no line of the
# clean corpus matches, so grep reads every byte, as the scanner does.
pattern_no_openers="${pattern//'|\{\{|\$\{|#\{|<%'/}"

# Output goes to a file, not /dev/null: GNU grep stops at the first match
# when it sees its output is /dev/null.
median_us() { # command...
  local samples=() start end
  "$@" >"$work/out" # warm-up, and the page cache
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$@" >"$work/out"
    end=$(date +%s%N)
    samples+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
grep_count() { LC_ALL=C grep -E -c "$1" "$corpus" || true; }
mb_s() { awk -v b="$bytes" -v us="$1" 'BEGIN { printf "%.1f", b / us }'; }

grep_lines="$(grep_count "$pattern")"
grep_lines_full="$(grep_count "$pattern_no_openers")"
grep_mb_s="$(mb_s "$(median_us grep_count "$pattern")")"
grep_full_mb_s="$(mb_s "$(median_us grep_count "$pattern_no_openers")")"

echo
echo "corpus:              $(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'), clean (scanner findings: $findings)"
echo "installhub-scan:     $ours_mb_s MB/s (whole parsed corpus), $ours_warm_mb_s MB/s (each definition right after parsing)"
echo "import path:         $import_mb_s MB/s on $cores cores (each definition scanned right after parsing, as an import does; goal >= 300), $import_cpu_mb_s MB/s from CPU time"
echo "grep -E -c:          $grep_mb_s MB/s (all keywords; $grep_lines of the lines match, each at its first placeholder)"
echo "grep -E -c:          $grep_full_mb_s MB/s (without the bare {{ \${ #{ <% openers; $grep_lines_full lines match, every byte read)"
awk -v a="$ours_mb_s" -v w="$ours_warm_mb_s" -v b="$grep_mb_s" -v c="$grep_full_mb_s" 'BEGIN {
  printf "ratio scan/grep:     %.2f (all keywords), %.2f (every byte read)\n", a / b, a / c
  printf "  after parsing:     %.2f (all keywords), %.2f (every byte read)\n", w / b, w / c }'
