#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, run and test controlplane.
# Idempotent and quiet when everything is present.
set -euo pipefail

APT_PACKAGES=(nginx-light postgresql postgresql-contrib libfcgi-dev libpq-dev libssl-dev libcurl4-openssl-dev libidn2-dev
              openssl curl ca-certificates python3 python3-pip procps systemd chromium chromium-driver
              prometheus   # prometheus: promtool, which lints /internal/metrics in make test
              patroni python3-etcd etcd-server iproute2)  # make test-cluster: PostgreSQL HA in network namespaces
# (python3-etcd named: patroni depends on one of several DCS clients, and its etcd3 support imports this one)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing apt packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Debian's postinst would start a system cluster and nginx; the stack starts its own.
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH: install Swift 6 (https://swift.org/install) first" >&2
    exit 1
fi

# Python test and dev tools (SMTP sink, end-to-end tests).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! python3 -c "import pytest, requests, aiosmtpd, yaml, openapi_spec_validator, standardwebhooks, jwt, cryptography, schemathesis, sslyze, idna, selenium" >/dev/null 2>&1 \
   || ! command -v squawk >/dev/null 2>&1; then
    echo "installing Python tools from requirements-dev.txt"
    python3 -m pip install --quiet --disable-pip-version-check -r "$here/requirements-dev.txt" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages -r "$here/requirements-dev.txt"
fi
