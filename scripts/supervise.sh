#!/usr/bin/env bash
# The dev stand-in for systemd's Restart=always: runs a command, restarts it when it dies
# (after a short pause), passes SIGTERM on and waits for the drain, and gives up on exit
# status 78 (a configuration mistake, which a restart cannot fix).
#   supervise.sh PIDFILE -- COMMAND [ARGS…]      (PIDFILE holds the child's pid)
set -u
pidfile="$1"; shift
[ "${1:-}" = "--" ] && shift
stopping=0
child=""
on_stop() {
    stopping=1
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap on_stop TERM INT
while true; do
    "$@" &
    child=$!
    # Replaced by rename, never truncated in place: a reader never sees an empty file.
    echo "$child" > "$pidfile.new" && mv -f "$pidfile.new" "$pidfile"
    wait "$child"
    status=$?
    if [ "$stopping" = 1 ]; then
        # wait returned because of the signal: let the child finish draining.
        while kill -0 "$child" 2>/dev/null; do wait "$child"; done
        rm -f "$pidfile"
        exit 0
    fi
    if [ "$status" = 78 ]; then
        echo "supervise: configuration error (exit 78); not restarting" >&2
        exit 78
    fi
    echo "{\"component\":\"supervise\",\"msg\":\"child exited; restarting\",\"status\":$status}" >&2
    sleep 0.2
done
