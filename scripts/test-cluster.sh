#!/usr/bin/env bash
# `make test-cluster`: several hosts on this machine, each a Linux network namespace on one
# bridge (10.231.0.0/24, in a namespace of its own: nothing touches the machine's network):
#
#   etcd .2 · pg1 .11, pg2 .12 (PostgreSQL 15 under Patroni) · app1 .21, app2 .22 (nginx +
#   controlplaned) · front .30 (nginx) · sync1 .41, sync2 .42 · peers .50 (fake registry,
#   webhook receiver) · client .60 (the tests)
#
# The tests (Tests/cluster) run in the client namespace, start every service in its host's
# namespace from the templates in cluster/, and run the failover scenarios. Every process in
# these namespaces is killed and the namespaces deleted at the end, whatever happened.
# CLUSTER_ARGS narrows the pytest run (e.g. CLUSTER_ARGS="-k link"). The tests print their figures
# (failover time, answers by status, link cut, deliveries): -s.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
[ "$(id -u)" -eq 0 ] || { echo "test-cluster: network namespaces need root" >&2; exit 1; }
for tool in patroni etcd ip nginx; do
    command -v "$tool" >/dev/null || { echo "test-cluster: $tool missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

PREFIX=cpc-
HOSTS="etcd:2 pg1:11 pg2:12 app1:21 app2:22 front:30 sync1:41 sync2:42 peers:50 client:60"
export CLUSTER_NETWORK=10.231.0 CLUSTER_PREFIX=$PREFIX
# Short and outside the clone: PostgreSQL (as its own user) must reach it, and unix socket paths are short.
export CLUSTER_DIR=/tmp/controlplane-cluster

echo "== swift build (debug)"
swift build
export CLUSTER_BIN; CLUSTER_BIN="$(swift build --show-bin-path)"

namespaces() { ip netns list | awk '{print $1}' | grep "^$PREFIX" || true; }
teardown() {
    local ns
    for ns in $(namespaces); do
        ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null || true
    done
    sleep 0.2
    for ns in $(namespaces); do ip netns del "$ns"; done
}
trap teardown EXIT
teardown  # what an interrupted run left

echo "== network: ${PREFIX}lan bridge and $(echo "$HOSTS" | wc -w) hosts"
ip netns add "${PREFIX}lan"
ip -n "${PREFIX}lan" link add br0 type bridge
ip -n "${PREFIX}lan" link set br0 up
for entry in $HOSTS; do
    name="${entry%%:*}"; octet="${entry##*:}"; ns="$PREFIX$name"
    ip netns add "$ns"
    ip -n "${PREFIX}lan" link add "v-$name" type veth peer name eth0 netns "$ns"
    ip -n "${PREFIX}lan" link set "v-$name" master br0 up
    ip -n "$ns" addr add "$CLUSTER_NETWORK.$octet/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
done

rm -rf "$CLUSTER_DIR"
mkdir -p "$CLUSTER_DIR"
chmod 755 "$CLUSTER_DIR"
echo "== cluster tests (logs under $CLUSTER_DIR)"
status=0
# shellcheck disable=SC2086
ip netns exec "${PREFIX}client" python3 -m pytest -q -s -p no:cacheprovider ${CLUSTER_ARGS:-} Tests/cluster || status=$?
if [ $status -ne 0 ]; then
    echo "== FAILED; the last lines of each host's logs:" >&2
    for log in "$CLUSTER_DIR"/*/*.log; do echo "-- $log" >&2; tail -n 8 "$log" >&2; done
fi
exit $status
