#!/usr/bin/env bash
# Property-based fuzzing of Kassa's whole API with schemathesis, from Kassa's own
# /openapi.json: every operation, valid and invalid inputs, then stateful sequences
# built from the links schemathesis infers. Fails on any 5xx, any response that breaks
# its documented schema or content type, and any status the document does not list.
#
#   scripts/fuzz-api.sh [EXAMPLES] [extra schemathesis run options…]
#
# EXAMPLES is the number of generated cases per operation and phase (default 50).
# FUZZ_API_CHECKS picks the schemathesis checks (default: server errors, response
# schemas, content types and documented status codes).
# Kassa runs from a debug build on a fresh SQLite database in a temporary directory.
# Needs `pip install schemathesis==4.32.5`.
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${1:-50}"
shift || true

command -v schemathesis >/dev/null || {
    echo "schemathesis is not installed: pip install schemathesis==4.32.5" >&2
    exit 2
}

cargo build --quiet --bin kassa
bin="${CARGO_TARGET_DIR:-target}/debug/kassa"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export KASSA_FUZZ_TOKEN="fuzz-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

# Quotas far above what the run sends: rate limiting is tested in tests/rate_limits.rs.
KASSA_DEMO_TOKEN="$KASSA_FUZZ_TOKEN" \
    KASSA_DATABASE_URL="sqlite://$work/kassa.db" \
    KASSA_LISTEN="127.0.0.1:$port" \
    KASSA_RATE_LIMIT_CLIENT_QUOTA=100000000 \
    KASSA_RATE_LIMIT_STORE_QUOTA=100000000 \
    RUST_LOG=warn \
    "$bin" serve --demo >"$work/kassa.log" 2>&1 &
kassa=$!
cleanup() {
    kill "$kassa" 2>/dev/null || true
    wait "$kassa" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.2
done

set +e
schemathesis --no-color --config-file scripts/schemathesis.toml run \
    "http://127.0.0.1:$port/openapi.json" \
    --checks "${FUZZ_API_CHECKS:-not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance}" \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$examples" \
    --continue-on-failure \
    "$@"
status=$?
set -e

# A panic would have been answered 500 (and failed above); say so plainly anyway.
if grep -q "panicked" "$work/kassa.log"; then
    echo "Kassa panicked during the run:" >&2
    grep -A5 "panicked" "$work/kassa.log" >&2
    status=1
fi
exit "$status"
