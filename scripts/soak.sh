#!/usr/bin/env bash
# `make soak`: the reliability tests in their long versions (SOAK=1: longer database outage,
# 50,000 fuzz cases, 100,000 requests for the leak check, 20 s of slow clients) against a
# throwaway stack, like make test. Loopback only; every loop bounded.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export STACK_DIR="$REPO/.run/soak" PUBLIC_PORT=38080 TLS_PORT=38443 INTERNAL_PORT=38081 STATIC_PORT=38082 SMTP_PORT=32525 \
       BUILD_CONFIG=debug PG_FSYNC=off CONTROLPLANE_TOKEN_CACHE_SECONDS=1 TRIAL_RATE=2000r/s SOAK=1
swift build --build-tests 2>&1 | grep -E "error|Build complete" || true
scripts/stack.sh stop >/dev/null 2>&1 || true
rm -rf "$STACK_DIR"
trap 'scripts/stack.sh stop >/dev/null 2>&1 || true' EXIT
SKIP_BUILD=1 scripts/stack.sh start
CONTROLPLANE_ENV_FILE="$STACK_DIR/dev.env" python3 -m pytest -q -s -p no:cacheprovider Tests/e2e/test_reliability.py \
    Tests/e2e/test_database_outage.py Tests/e2e/test_zz_secrets_never_logged.py
