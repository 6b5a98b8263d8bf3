#!/usr/bin/env bash
# `make soak`: the reliability tests in their long versions (SOAK=1: longer database outage,
# 50,000 fuzz cases, 100,000 requests for the leak check, 20 s of slow clients) against a
# throwaway stack, like make test. Loopback only; every loop bounded.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/throwaway-stack.sh
. scripts/throwaway-stack.sh
export PG_FSYNC=off CONTROLPLANE_TOKEN_CACHE_SECONDS=1 TRIAL_RATE=2000r/s SOAK=1
throwaway_stack soak 38 debug
CONTROLPLANE_ENV_FILE="$STACK_DIR/dev.env" python3 -m pytest -q -s -p no:cacheprovider Tests/e2e/test_reliability.py \
    Tests/e2e/test_database_outage.py Tests/e2e/test_zz_secrets_never_logged.py
