#!/usr/bin/env bash
# `make bench`: a throwaway release-mode stack under .run/bench/ with realistic data, then
# each hot path measured against its reference in the same run (scripts/bench.py), written
# to bench/results.md. Every load goes to 127.0.0.1 only.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/throwaway-stack.sh
. scripts/throwaway-stack.sh
export TRIAL_LIMIT_KEY='$cp_no_limit' CONTROLPLANE_ACCESS_LOG=off PG_FSYNC=on

missing=()
for pkg in wrk php8.2-fpm; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Stop what this run started, by pid (php-fpm's master, the fake registry).
stop_bench_helpers() {
    [ -f "$STACK_DIR/php/php-fpm.pid" ] && kill "$(cat "$STACK_DIR/php/php-fpm.pid")" 2>/dev/null || true
    [ -n "${REGISTRY_PID:-}" ] && kill "$REGISTRY_PID" 2>/dev/null || true
}
THROWAWAY_EXTRA_CLEANUP=stop_bench_helpers
throwaway_stack bench 28 release

# php-fpm (pm = static) behind the same nginx: the FastCGI responder most users would pick.
mkdir -p "$STACK_DIR/php"
cat > "$STACK_DIR/php/ping.php" <<'PHP'
<?php header('Content-Type: application/json'); echo '{"status":"ok"}';
PHP
cat > "$STACK_DIR/php/php-fpm.conf" <<CONF
[global]
pid = $STACK_DIR/php/php-fpm.pid
error_log = $STACK_DIR/php/error.log
[bench]
user = www-data
group = www-data
listen = $STACK_DIR/php/php.sock
listen.mode = 0666
pm = static
pm.max_children = 16
CONF
"$(command -v php-fpm8.2 || echo /usr/sbin/php-fpm8.2)" -y "$STACK_DIR/php/php-fpm.conf" -R
cat > "$STACK_DIR/nginx/extra/php.conf" <<CONF
server {
    listen 127.0.0.1:28083;
    location / {
        include /etc/nginx/fastcgi_params;  # Debian's stock parameters, as a php-fpm site has them
        fastcgi_pass unix:$STACK_DIR/php/php.sock;
        fastcgi_param SCRIPT_FILENAME $STACK_DIR/php/ping.php;
    }
}
CONF
# nginx sending a file: the reference for a large directory page (bench.py writes the file).
mkdir -p "$STACK_DIR/static"
chmod 755 "$STACK_DIR/static"
cat > "$STACK_DIR/nginx/extra/static.conf" <<CONF
server {
    listen 127.0.0.1:28084;
    root $STACK_DIR/static;
    default_type application/json;
}
CONF
nginx -c "$STACK_DIR/nginx/nginx.conf" -p "$STACK_DIR/nginx" -e "$STACK_DIR/nginx/error.log" -s reload
sleep 1

# BENCH_ONLY=directory,email (sections of scripts/bench.py) is a partial run: its table goes
# under the run directory, and bench/results.md keeps the last full run.
OUT=bench/results.md
[ -n "${BENCH_ONLY:-}" ] && OUT="$STACK_DIR/results.md"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 Tests/e2e/fake_registry.py --port "$port" &
REGISTRY_PID=$!
python3 scripts/bench.py --env "$STACK_DIR/dev.env" --registry "http://127.0.0.1:$port" --php "http://127.0.0.1:28083/" \
    --static-dir "$STACK_DIR/static" --static-url "http://127.0.0.1:28084/" \
    --duration "${BENCH_SECONDS:-10}" --rounds "${BENCH_ROUNDS:-3}" --out "$OUT"
