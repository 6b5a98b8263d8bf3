#!/usr/bin/env bash
# `make fuzz`: schemathesis with a large budget (FUZZ_EXAMPLES, default 500 per operation)
# against a throwaway stack, like make test. Loopback only.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/throwaway-stack.sh
. scripts/throwaway-stack.sh
export PG_FSYNC=off TRIAL_RATE=100000r/s FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-500}"
throwaway_stack fuzz 48 debug
CONTROLPLANE_ENV_FILE="$STACK_DIR/dev.env" python3 -m pytest -q -s -p no:cacheprovider Tests/e2e/test_zy_schemathesis.py
