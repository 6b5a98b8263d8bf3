#!/usr/bin/env bash
# `make test`: builds, starts a throwaway stack under .run/test/ (own PostgreSQL cluster,
# controlplaned, nginx and SMTP sink on ports 18080/18443/18081), runs the Swift unit and
# integration tests and the end-to-end tests through nginx, then stops the stack.
# E2E_ARGS narrows the end-to-end run (e.g. E2E_ARGS="Tests/e2e/test_reliability.py -k leaks").
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

export STACK_DIR="$REPO/.run/test" PUBLIC_PORT=18080 TLS_PORT=18443 INTERNAL_PORT=18081 STATIC_PORT=18082 \
       SMTP_PORT=12525 BUILD_CONFIG=debug PG_FSYNC=off \
       CONTROLPLANE_TOKEN_CACHE_SECONDS=1 TRIAL_RATE=2000r/s

echo "== build (debug, with tests)"
swift build --build-tests 2>&1 | grep -E "error|warning: |Build complete" || true
test -x .build/debug/controlplaned || { echo "build failed" >&2; exit 1; }

echo "== start a throwaway stack in $STACK_DIR"
scripts/stack.sh stop >/dev/null 2>&1 || true
rm -rf "$STACK_DIR"
cleanup() { scripts/stack.sh stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
SKIP_BUILD=1 scripts/stack.sh start

set -a
# shellcheck disable=SC1091
. "$STACK_DIR/dev.env"
set +a

status=0
echo "== swift test (unit + integration against PostgreSQL)"
swift test --skip-build 2>&1 | tee "$STACK_DIR/swift-test.log" | grep -E "error:|failed|Executed [0-9]+ tests" | tail -n 40 || true
grep -qE "with 0 failures" "$STACK_DIR/swift-test.log" && ! grep -qE "with [1-9][0-9]* failures?" "$STACK_DIR/swift-test.log" || status=1

echo "== end-to-end tests through nginx"
CONTROLPLANE_ENV_FILE="$STACK_DIR/dev.env" python3 -m pytest -q -p no:cacheprovider ${E2E_ARGS:-Tests/e2e} || status=1

if [ $status -ne 0 ]; then
    echo "== FAILED; last backend log lines:" >&2
    tail -n 30 "$STACK_DIR/controlplaned.log" >&2 || true
fi
exit $status
