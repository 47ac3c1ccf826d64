#!/usr/bin/env bash
# Property-based tests of the whole HTTP API against its own OpenAPI
# document: starts the demo server on a free loopback port with a temporary
# data directory, runs schemathesis with every check, stops the server and
# exits non-zero on any failure.
#
#   scripts/schemathesis.sh                 # 50 examples per operation (about 1 min)
#   SCHEMATHESIS_EXAMPLES=100 scripts/schemathesis.sh
#   SCHEMATHESIS_ARGS='--seed 1' scripts/schemathesis.sh
#   INSTALLHUB_BIN=path/to/installhub scripts/schemathesis.sh
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"
examples="${SCHEMATHESIS_EXAMPLES:-50}"

if ! command -v st >/dev/null 2>&1; then
    python3 -m pip install --quiet 'schemathesis>=4,<5'
fi

# INSTALLHUB_BIN runs an already built binary instead.
binary="${INSTALLHUB_BIN:-}"
if [ -z "$binary" ]; then
    cargo build --quiet --bin installhub
    binary="${CARGO_TARGET_DIR:-target}/debug/installhub"
fi

work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the server picks a free port and prints its URL with the token.
# The export allowance is raised so that exports are tested, not refused.
INSTALLHUB_EXPORT_LIMIT_PER_USER=1000000 INSTALLHUB_EXPORT_LIMIT_PER_TENANT=1000000 \
    "$binary" serve --demo --listen 127.0.0.1:0 --data-dir "$work/data" \
    >"$work/server.out" 2>"$work/server.log" &
server=$!

url=""
token=""
for _ in $(seq 1 300); do
    url="$(sed -n 's/^export INSTALLHUB_URL=//p' "$work/server.out")"
    token="$(sed -n 's/^export INSTALLHUB_TOKEN=//p' "$work/server.out")"
    if [ -n "$url" ] && [ -n "$token" ]; then
        break
    fi
    if ! kill -0 "$server" 2>/dev/null; then
        cat "$work/server.log" >&2
        echo "the demo server did not start" >&2
        exit 1
    fi
    sleep 0.2
done
if [ -z "$url" ] || [ -z "$token" ]; then
    echo "the demo server printed no URL and token" >&2
    exit 1
fi

# Run from the temporary directory, where schemathesis leaves its cache.
cd "$work"
# shellcheck disable=SC2086 # SCHEMATHESIS_ARGS is a list of options.
st --no-color --config-file "$root/scripts/schemathesis.toml" run "$url/api/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --max-examples "$examples" \
    --request-timeout 30 \
    ${SCHEMATHESIS_ARGS:-}
