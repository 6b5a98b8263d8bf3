#!/usr/bin/env bash
# `make test`: builds, starts a throwaway stack under .run/test/ (own PostgreSQL cluster,
# controlplaned, nginx and SMTP sink on ports 18080/18443/18081), runs the Swift unit and
# integration tests and the end-to-end tests through nginx, then stops the stack. A failed
# build, a failed or skipped Swift test, or a failed end-to-end test fails it.
# E2E_ARGS narrows the end-to-end run (e.g. E2E_ARGS="Tests/e2e/test_reliability.py -k leaks");
# SWIFT_TEST_ARGS narrows the Swift run (e.g. SWIFT_TEST_ARGS="--filter TenantRoutesTests").
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/throwaway-stack.sh
. scripts/throwaway-stack.sh
# 127.0.0.3 plays the platform gateway in test_http_front.py (trusted-proxy tests). Every test
# makes its drafts from 127.0.0.1: the per-network draft limit has its own test on a backend
# of its own (test_trial.py).
export PG_FSYNC=off CONTROLPLANE_TOKEN_CACHE_SECONDS=1 TRIAL_RATE=2000r/s TRUSTED_PROXIES=127.0.0.3 \
    CONTROLPLANE_TRIAL_MAX_DRAFTS_PER_NETWORK_PER_HOUR=100000
throwaway_stack test 18 debug

set -a
# shellcheck disable=SC1091
. "$STACK_DIR/dev.env"
set +a

status=0
echo "== swift test (unit + integration against PostgreSQL)"
# swift test's own exit status decides; its log is kept for the skip check below.
swift_status=0
# shellcheck disable=SC2086
swift test --skip-build ${SWIFT_TEST_ARGS:-} > "$STACK_DIR/swift-test.log" 2>&1 || swift_status=$?
grep -E "error:|failed|skipped|Executed [0-9]+ tests" "$STACK_DIR/swift-test.log" | tail -n 60 || true
[ "$swift_status" -eq 0 ] || { echo "== swift test failed (exit $swift_status)" >&2; status=1; }
# Every integration test has its database here: a skip means a test did not run.
if grep -qE "Test Case .* skipped" "$STACK_DIR/swift-test.log"; then
    echo "== swift tests were skipped (a skip is a failure in make test):" >&2
    grep -E "Test Case .* skipped" "$STACK_DIR/swift-test.log" >&2
    status=1
fi

echo "== end-to-end tests through nginx"
# shellcheck disable=SC2086
CONTROLPLANE_ENV_FILE="$STACK_DIR/dev.env" python3 -m pytest -q -p no:cacheprovider ${E2E_ARGS:-Tests/e2e} || status=1

if [ $status -ne 0 ]; then
    echo "== FAILED; last backend log lines:" >&2
    tail -n 30 "$STACK_DIR/controlplaned.log" >&2 || true
fi
exit $status
