#!/usr/bin/env bash
# `make fuzz`: schemathesis with a large budget (FUZZ_EXAMPLES, default 500 per operation)
# against a throwaway stack, like make test. Loopback only.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export STACK_DIR="$REPO/.run/fuzz" PUBLIC_PORT=48080 TLS_PORT=48443 INTERNAL_PORT=48081 STATIC_PORT=48082 SMTP_PORT=42525 \
       BUILD_CONFIG=debug PG_FSYNC=off TRIAL_RATE=100000r/s FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-500}"
swift build --build-tests 2>&1 | grep -E "error|Build complete" || true
scripts/stack.sh stop >/dev/null 2>&1 || true
rm -rf "$STACK_DIR"
trap 'scripts/stack.sh stop >/dev/null 2>&1 || true' EXIT
SKIP_BUILD=1 scripts/stack.sh start
CONTROLPLANE_ENV_FILE="$STACK_DIR/dev.env" python3 -m pytest -q -s -p no:cacheprovider Tests/e2e/test_zy_schemathesis.py
