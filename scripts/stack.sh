#!/usr/bin/env bash
# Starts or stops a whole local stack: PostgreSQL cluster, controlplaned, nginx and an
# SMTP sink, all under one directory. `make run` uses .run/ with the documented ports;
# `make test` uses .run/test/ with its own ports, so both can run side by side.
#
#   scripts/stack.sh start|stop|status
#
# Environment: STACK_DIR (default REPO/.run), PUBLIC_PORT (8080), TLS_PORT (8443),
# INTERNAL_PORT (8081), STATIC_PORT (8082), SMTP_PORT (2525), BUILD_CONFIG (release),
# SKIP_BUILD=1 to use binaries already built, TRUSTED_PROXIES (space-separated addresses or
# CIDRs whose X-Forwarded-For nginx believes; none by default), LISTEN_ADDRESS (127.0.0.1:
# where nginx listens). A host of several (scripts/test-cluster.sh) uses a shared, migrated
# database instead of its own cluster: APP_DATABASE_URL (with APP_DATABASE_PASSWORD), and
# OWNER_DATABASE_URL and SYNC_DATABASE_URL for the dev.env it writes.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${STACK_DIR:-$REPO/.run}"
PUBLIC_PORT="${PUBLIC_PORT:-8080}"
TLS_PORT="${TLS_PORT:-8443}"
INTERNAL_PORT="${INTERNAL_PORT:-8081}"
STATIC_PORT="${STATIC_PORT:-8082}"
SMTP_PORT="${SMTP_PORT:-2525}"
LISTEN_ADDRESS="${LISTEN_ADDRESS:-127.0.0.1}"
BUILD_CONFIG="${BUILD_CONFIG:-release}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

log() { echo "[stack] $*"; }
die() { echo "[stack] error: $*" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

# PostgreSQL runs as the postgres user, which must reach its directory; a clone under
# a private home (or a path too long for a unix socket) gets a directory in /tmp.
pg_dir() {
    if [ -L "$RUN/pg" ] || [ -d "$RUN/pg" ]; then readlink -f "$RUN/pg"; return; fi
    mkdir -p "$RUN/pg"
    chown postgres:postgres "$RUN/pg"
    if runuser -u postgres -- test -w "$RUN/pg" && [ ${#RUN} -lt 70 ]; then
        readlink -f "$RUN/pg"
    else
        rmdir "$RUN/pg"
        local alt; alt="$(mktemp -d /tmp/controlplane-pg.XXXXXX)"
        chown postgres:postgres "$alt"; chmod 700 "$alt"
        ln -s "$alt" "$RUN/pg"
        echo "$alt"
    fi
}

start_postgres() {
    [ -n "$PGBIN" ] || die "PostgreSQL server binaries not found (apt install postgresql)"
    PGDIR="$(pg_dir)"
    if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
        log "initdb $PGDIR/data"
        runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    fi
    if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
        log "starting PostgreSQL (socket in $PGDIR)"
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 60 \
            -o "-k $PGDIR -c listen_addresses='' -c max_connections=200 -c fsync=${PG_FSYNC:-on}" start >/dev/null
    fi
    ADMIN_URL="postgresql:///postgres?host=$PGDIR&user=postgres"
    OWNER_URL="postgresql:///controlplane?host=$PGDIR&user=controlplane_owner"
    APP_URL="postgresql:///controlplane?host=$PGDIR&user=controlplane_app_user"
    SYNC_URL="postgresql:///controlplane?host=$PGDIR&user=controlplane_sync_user"
}

psql_admin() { psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -qAt "$@"; }

create_database() {
    psql_admin <<'SQL'
SELECT 'CREATE ROLE controlplane_owner LOGIN CREATEROLE'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'controlplane_owner') \gexec
SELECT 'CREATE DATABASE controlplane OWNER controlplane_owner'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'controlplane') \gexec
SQL
    log "applying migrations"
    "$BIN/cpctl" migrate --database-url "$OWNER_URL" --dir "$REPO/sql" | sed 's/^/[cpctl] /'
    # Login users for the two services, members of the group roles migration 0001 made.
    psql_admin <<'SQL'
SELECT 'CREATE ROLE controlplane_app_user LOGIN IN ROLE controlplane_app'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'controlplane_app_user') \gexec
SELECT 'CREATE ROLE controlplane_sync_user LOGIN IN ROLE controlplane_sync'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'controlplane_sync_user') \gexec
SQL
    # The dev service token (every scope) from secrets.env, registered once per database.
    local known
    known="$(echo "SELECT count(*) FROM service_tokens WHERE token_hash = sha256(convert_to(:'token', 'UTF8'))" \
        | psql "$OWNER_URL" -qAt -v token="$CONTROLPLANE_INTERNAL_TOKEN")"
    if [ "$known" = 0 ]; then
        echo "$CONTROLPLANE_INTERNAL_TOKEN" | "$BIN/cpctl" tokens create --database-url "$OWNER_URL" \
            --name "dev-internal-$(date +%s)" --scopes all --token-stdin 2>/dev/null
        log "registered the dev service token (all scopes)"
    fi
}

build() {
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        log "swift build -c $BUILD_CONFIG"
        # Progress and errors shown as they come; a failed build stops here (set -e), never
        # starting an older binary.
        (cd "$REPO" && swift build -c "$BUILD_CONFIG") || die "swift build failed"
    fi
    BIN="$(cd "$REPO" && swift build -c "$BUILD_CONFIG" --show-bin-path)"
    [ -x "$BIN/controlplaned" ] || die "build failed: $BIN/controlplaned missing"
}

secret() { head -c "$1" /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_'; }

ensure_secrets() {
    if [ ! -f "$RUN/secrets.env" ]; then
        umask 077
        {
            echo "PPOS_CONTROL_TOKEN='cpct_$(secret 32)'"
            echo "CONTROLPLANE_INTERNAL_TOKEN='cpst_$(secret 32)'"
            echo "CONTROLPLANE_PROVISIONER_SECRET='whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')'"
            echo "CONTROLPLANE_HASH_KEY='$(secret 32)'"
        } > "$RUN/secrets.env"
        umask 022
    fi
    # Added after the first stacks were made: appended to an older secrets.env.
    if ! grep -q '^CONTROLPLANE_SECRETS_KEYS=' "$RUN/secrets.env"; then
        echo "CONTROLPLANE_SECRETS_KEYS='$(head -c 32 /dev/urandom | base64 | tr -d '\n')'" >> "$RUN/secrets.env"
    fi
    # shellcheck disable=SC1091
    . "$RUN/secrets.env"
}

ensure_certificate() {
    # Certificates live at most 365 days (Mozilla intermediate: under 366); an older stack's
    # longer-lived one is replaced.
    if [ -f "$RUN/tls/cert.pem" ] && openssl x509 -in "$RUN/tls/cert.pem" -noout -checkend $((366 * 86400)) >/dev/null; then
        log "replacing a certificate valid for more than 366 days"
        rm -f "$RUN/tls/cert.pem" "$RUN/tls/key.pem"
    fi
    if [ ! -f "$RUN/tls/cert.pem" ]; then
        mkdir -p "$RUN/tls"
        log "making a self-signed certificate for localhost"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
            -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" >/dev/null 2>&1
        chmod 600 "$RUN/tls/key.pem"
    fi
}

ensure_jwt_key() {
    if [ ! -f "$RUN/keys/preflight-1.pem" ]; then
        mkdir -p "$RUN/keys"
        "$BIN/cpctl" keys generate --out "$RUN/keys/preflight-1.pem" >/dev/null 2>&1 || die "cannot generate the PREFLIGHT_JWT key"
        log "made the PREFLIGHT_JWT signing key $RUN/keys/preflight-1.pem (public half beside it)"
    fi
    if [ ! -f "$RUN/keys/preflight-1.pub.pem" ]; then  # a stack made before keys came in pairs
        openssl pkey -in "$RUN/keys/preflight-1.pem" -pubout -out "$RUN/keys/preflight-1.pub.pem" || die "cannot derive the public key"
    fi
    JWT_KEYS="$RUN/keys/preflight-1.pem"             # the sync's (it signs)
    JWT_PUBLIC_KEYS="$RUN/keys/preflight-1.pub.pem"  # controlplaned's (it publishes the JWKS)
}

start_backend() {
    umask 077
    cat > "$RUN/controlplaned.env" <<ENV
# Written by scripts/stack.sh; controlplaned reads it through CONTROLPLANE_CONFIG_FILE.
CONTROLPLANE_LISTEN=$RUN/fcgi.sock
CONTROLPLANE_SOCKET_MODE=0666
CONTROLPLANE_DATABASE_URL=$APP_URL
${APP_DATABASE_PASSWORD:+CONTROLPLANE_DATABASE_PASSWORD=$APP_DATABASE_PASSWORD}
${CONTROLPLANE_THREADS:+CONTROLPLANE_THREADS=$CONTROLPLANE_THREADS}
CONTROLPLANE_DRAIN_TIMEOUT_SECONDS=20
CONTROLPLANE_TOKEN_CACHE_SECONDS=${CONTROLPLANE_TOKEN_CACHE_SECONDS:-5}
CONTROLPLANE_PROVISIONER_SECRET=$CONTROLPLANE_PROVISIONER_SECRET
PPOS_CONTROL_TOKEN=$PPOS_CONTROL_TOKEN
CONTROLPLANE_JWT_PUBLIC_KEY_FILES=$JWT_PUBLIC_KEYS
CONTROLPLANE_HASH_KEY=$CONTROLPLANE_HASH_KEY
CONTROLPLANE_SECRETS_KEYS=$CONTROLPLANE_SECRETS_KEYS
# Development only: webhook receivers on this machine (production refuses loopback).
CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK=on
${CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS:+CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS=$CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS}
${CONTROLPLANE_REGISTRY_ALLOW_HTTP:+CONTROLPLANE_REGISTRY_ALLOW_HTTP=$CONTROLPLANE_REGISTRY_ALLOW_HTTP}
CONTROLPLANE_DICTIONARY_POLL_SECONDS=${CONTROLPLANE_DICTIONARY_POLL_SECONDS:-2}
CONTROLPLANE_ACCESS_LOG=${CONTROLPLANE_ACCESS_LOG:-on}
${CONTROLPLANE_TRIAL_MAX_DRAFTS_PER_NETWORK_PER_HOUR:+CONTROLPLANE_TRIAL_MAX_DRAFTS_PER_NETWORK_PER_HOUR=$CONTROLPLANE_TRIAL_MAX_DRAFTS_PER_NETWORK_PER_HOUR}
ENV
    umask 022
    stop_backend
    log "starting controlplaned (supervised: restarted if it dies)"
    CONTROLPLANE_CONFIG_FILE="$RUN/controlplaned.env" \
        nohup "$REPO/scripts/supervise.sh" "$RUN/controlplaned.pid" -- "$BIN/controlplaned" >> "$RUN/controlplaned.log" 2>&1 < /dev/null &
    echo $! > "$RUN/supervisor.pid"
    for _ in $(seq 1 100); do [ -S "$RUN/fcgi.sock" ] && [ -f "$RUN/controlplaned.pid" ] && return; sleep 0.1; done
    tail -n 20 "$RUN/controlplaned.log" >&2
    die "controlplaned did not create $RUN/fcgi.sock"
}

stop_backend() {
    local pid
    for file in supervisor.pid controlplaned.pid; do
        if alive "$RUN/$file"; then
            pid="$(cat "$RUN/$file")"
            kill -TERM "$pid"
            for _ in $(seq 1 250); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -f "$RUN/controlplaned.pid" "$RUN/supervisor.pid"
}

start_nginx() {
    mkdir -p "$RUN/nginx/tmp" "$RUN/nginx/extra"
    ln -sfn "$REPO/nginx/snippets" "$RUN/nginx/snippets"
    local trusted="" proxy
    for proxy in ${TRUSTED_PROXIES:-}; do
        [[ "$proxy" =~ ^[0-9a-fA-F.:/]+$ ]] || die "TRUSTED_PROXIES: $proxy is not an address or CIDR"
        trusted+="    set_real_ip_from $proxy;\\n"
    done
    sed -e "s#@RUN_DIR@#$RUN#g" -e "s#@PUBLIC_PORT@#$PUBLIC_PORT#g" -e "s#@TLS_PORT@#$TLS_PORT#g" \
        -e "s#@INTERNAL_PORT@#$INTERNAL_PORT#g" -e "s#@STATIC_PORT@#$STATIC_PORT#g" \
        -e "s#@LISTEN_ADDRESS@#$LISTEN_ADDRESS#g" \
        -e "s#@TRIAL_RATE@#${TRIAL_RATE:-10r/s}#g" -e "s#@TRIAL_LIMIT_KEY@#${TRIAL_LIMIT_KEY:-\$cp_client_network}#g" \
        -e "s#@TRUSTED_PROXIES@#${trusted}#g" \
        "$REPO/nginx/dev.conf.template" > "$RUN/nginx/nginx.conf"
    "$NGINX" -t -q -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -e "$RUN/nginx/error.log" || die "nginx config test failed"
    # A restart, not a reload: a reload that nginx refuses (some changes, such as a rate-limit
    # key, cannot be reloaded) would leave the old configuration running silently.
    stop_nginx
    log "starting nginx on $LISTEN_ADDRESS:$PUBLIC_PORT (http), :$TLS_PORT (https), :$INTERNAL_PORT (internal)"
    "$NGINX" -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -e "$RUN/nginx/error.log"
}

stop_nginx() {
    if alive "$RUN/nginx/nginx.pid"; then
        "$NGINX" -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx" -e "$RUN/nginx/error.log" -s quit || true
        for _ in $(seq 1 100); do alive "$RUN/nginx/nginx.pid" || break; sleep 0.1; done
    fi
}

start_smtp_sink() {
    if ! alive "$RUN/smtp.pid"; then
        log "starting the SMTP sink on 127.0.0.1:$SMTP_PORT (messages in $RUN/mail/)"
        nohup python3 "$REPO/scripts/smtp_sink.py" 127.0.0.1 "$SMTP_PORT" "$RUN/mail" >> "$RUN/smtp.log" 2>&1 < /dev/null &
        echo $! > "$RUN/smtp.pid"
    fi
}

wait_ready() {
    for _ in $(seq 1 150); do
        if curl -fsS -o /dev/null "http://$LISTEN_ADDRESS:$INTERNAL_PORT/internal/health" 2>/dev/null \
            && curl -ksS -o /dev/null "https://$LISTEN_ADDRESS:$TLS_PORT/" 2>/dev/null \
            && (exec 3<>"/dev/tcp/127.0.0.1/$SMTP_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    tail -n 20 "$RUN/controlplaned.log" "$RUN/nginx/error.log" >&2 || true
    die "the stack did not become ready"
}

write_env() {
    cat > "$RUN/dev.env" <<ENV
# Written by scripts/stack.sh: source it (. $RUN/dev.env) to talk to this stack.
DATABASE_URL='$OWNER_URL'
CONTROLPLANE_DATABASE_URL='$APP_URL'
CONTROLPLANE_SYNC_DATABASE_URL='$SYNC_URL'
CONTROLPLANE_ADMIN_DATABASE_URL='$ADMIN_URL'
CONTROLPLANE_URL='http://$LISTEN_ADDRESS:$PUBLIC_PORT'
CONTROLPLANE_TLS_URL='https://$LISTEN_ADDRESS:$TLS_PORT'
CONTROLPLANE_INTERNAL_URL='http://$LISTEN_ADDRESS:$INTERNAL_PORT'
CONTROLPLANE_CONSOLE_URL='http://$LISTEN_ADDRESS:$INTERNAL_PORT/console/'
CONTROLPLANE_STATIC_URL='http://$LISTEN_ADDRESS:$STATIC_PORT'
CONTROLPLANE_TLS_CERT='$RUN/tls/cert.pem'
CONTROLPLANE_FCGI_SOCKET='$RUN/fcgi.sock'
CONTROLPLANE_PID_FILE='$RUN/controlplaned.pid'
CONTROLPLANE_SUPERVISOR_PID_FILE='$RUN/supervisor.pid'
CONTROLPLANE_LOG='$RUN/controlplaned.log'
CONTROLPLANE_MIGRATIONS_DIR='$REPO/sql'
CONTROLPLANE_BIN_DIR='$BIN'
CONTROLPLANED='$BIN/controlplaned'
CPCTL='$BIN/cpctl'
CONTROLPLANE_SYNC='$BIN/controlplane-sync'
CONTROLPLANE_SMTP_HOST='127.0.0.1'
CONTROLPLANE_SMTP_PORT='$SMTP_PORT'
CONTROLPLANE_SMTP_URL='smtp://127.0.0.1:$SMTP_PORT'
CONTROLPLANE_SMTP_TLS='off'
CONTROLPLANE_MAIL_FROM='trials@controlplane.localhost'
CONTROLPLANE_MAIL_DIR='$RUN/mail'
CONTROLPLANE_PG_BIN='$PGBIN'
CONTROLPLANE_PG_DATA='$PGDIR/data'
CONTROLPLANE_PG_SOCKET_DIR='$PGDIR'
PPOS_CONTROL_TOKEN='$PPOS_CONTROL_TOKEN'
CONTROLPLANE_INTERNAL_TOKEN='$CONTROLPLANE_INTERNAL_TOKEN'
CONTROLPLANE_PROVISIONER_SECRET='$CONTROLPLANE_PROVISIONER_SECRET'
CONTROLPLANE_HASH_KEY='$CONTROLPLANE_HASH_KEY'
CONTROLPLANE_SECRETS_KEYS='$CONTROLPLANE_SECRETS_KEYS'
CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK='on'
CONTROLPLANE_JWT_KEY_FILES='$JWT_KEYS'
CONTROLPLANE_JWT_PUBLIC_KEY_FILES='$JWT_PUBLIC_KEYS'
CONTROLPLANE_JWT_ISSUER='controlplane'
CONTROLPLANE_JWKS_URL='http://$LISTEN_ADDRESS:$INTERNAL_PORT/internal/.well-known/jwks.json'
ENV
}

start() {
    mkdir -p "$RUN"
    ensure_secrets
    build
    if [ -n "${APP_DATABASE_URL:-}" ]; then
        # One host of several: the database is shared, already migrated, and not ours to start.
        APP_URL="$APP_DATABASE_URL"; OWNER_URL="${OWNER_DATABASE_URL:-}"; SYNC_URL="${SYNC_DATABASE_URL:-}"
        ADMIN_URL=""; PGDIR=""
    else
        start_postgres
        create_database
    fi
    ensure_jwt_key
    ensure_certificate
    start_backend
    start_nginx
    start_smtp_sink
    wait_ready
    write_env
    log "ready: public http://$LISTEN_ADDRESS:$PUBLIC_PORT https://$LISTEN_ADDRESS:$TLS_PORT, internal http://$LISTEN_ADDRESS:$INTERNAL_PORT; env in $RUN/dev.env"
}

stop() {
    stop_backend
    stop_nginx
    if alive "$RUN/smtp.pid"; then kill "$(cat "$RUN/smtp.pid")" || true; fi
    rm -f "$RUN/smtp.pid"
    if [ -e "$RUN/pg" ] && [ -n "$PGBIN" ]; then
        local dir; dir="$(readlink -f "$RUN/pg")"
        if [ -f "$dir/data/PG_VERSION" ]; then
            runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
        fi
    fi
    log "stopped ($RUN)"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
