"""The cluster under test: hosts are network namespaces made by scripts/test-cluster.sh; this
module starts each host's services from the templates in cluster/ and breaks them on purpose.

Every process is started with `ip netns exec HOST`, logs to CLUSTER_DIR/HOST/NAME.log, and
is killed with its namespace when scripts/test-cluster.sh ends."""
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NETWORK = os.environ.get("CLUSTER_NETWORK", "10.231.0")
PREFIX = os.environ.get("CLUSTER_PREFIX", "cpc-")
DIR = os.environ.get("CLUSTER_DIR", "/tmp/controlplane-cluster")
BIN = os.environ.get("CLUSTER_BIN", "")
PG_BIN = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")) if os.path.isdir(d))[-1]
ADDRESS = {"etcd": 2, "pg1": 11, "pg2": 12, "app1": 21, "app2": 22, "front": 30,
           "sync1": 41, "sync2": 42, "peers": 50, "client": 60}
ADDRESS = {name: f"{NETWORK}.{octet}" for name, octet in ADDRESS.items()}
PG_NODES = ("pg1", "pg2")
APP_HOSTS = ("app1", "app2")
SYNC_HOSTS = ("sync1", "sync2")
REGISTRY_PORT, RECEIVER_PORT = 9100, 9443


class CommandFailed(Exception):
    """A command on a host exited non-zero (its output is the message)."""


def wait_until(predicate, timeout, interval=0.1):
    """Polls until the predicate holds; a peer not answering yet counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (requests.RequestException, OSError, ValueError, CommandFailed, subprocess.TimeoutExpired):
            pass
        time.sleep(interval)
    return False


def render(template, target, **values):
    text = open(os.path.join(REPO, "cluster", template)).read()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    assert "@" not in "".join(line for line in text.splitlines() if not line.lstrip().startswith("#")), \
        f"{template}: a placeholder was left unfilled"
    with open(target, "w") as f:
        f.write(text)


def host_dir(host):
    path = os.path.join(DIR, host)
    os.makedirs(path, exist_ok=True)
    return path


def run(host, argv, check=True, env=None, timeout=120, **kwargs):
    """Runs a command on a host to its end; a failure shows its output."""
    completed = subprocess.run(["ip", "netns", "exec", PREFIX + host, *argv], capture_output=True, text=True,
                               env=env, timeout=timeout, **kwargs)
    if check and completed.returncode != 0:
        raise CommandFailed(f"{host}: {' '.join(argv)} exited {completed.returncode}\n{completed.stdout}\n{completed.stderr}")
    return completed


def spawn(host, name, argv, user=None, env=None):
    """Starts a long-running service on a host; its output goes to DIR/HOST/NAME.log."""
    log = open(os.path.join(host_dir(host), name + ".log"), "ab")
    prefix = ["ip", "netns", "exec", PREFIX + host] + (["runuser", "-u", user, "--"] if user else [])
    return subprocess.Popen(prefix + argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


def kill_host(host):
    """Every process of the host dies at once (SIGKILL), as in a power loss."""
    pids = subprocess.run(["ip", "netns", "pids", PREFIX + host], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except ProcessLookupError:
            pass


def set_link(host, up):
    """Cuts (or mends) the host's cable at the switch: its packets are dropped, nothing is refused."""
    subprocess.run(["ip", "-n", PREFIX + "lan", "link", "set", "v-" + host, "up" if up else "down"], check=True)


def multi_host_url(user):
    hosts = ",".join(f"{ADDRESS[node]}:5432" for node in PG_NODES)
    return f"postgresql://{hosts}/controlplane?user={user}&target_session_attrs=read-write&connect_timeout=2"


class Cluster:
    def __init__(self):
        self.passwords = {role: secrets.token_urlsafe(18) for role in
                          ("postgres", "replicator", "rewinder", "owner", "app", "sync")}
        # The front's internal and public servers, and the peers the sync hosts call.
        self.front = f"http://{ADDRESS['front']}:8081"
        self.public = f"http://{ADDRESS['front']}"
        self.registry = f"http://{ADDRESS['peers']}:{REGISTRY_PORT}"
        self.receiver_url = f"https://{ADDRESS['peers']}:{RECEIVER_PORT}/hooks"

    # PostgreSQL under Patroni, with etcd

    def start_etcd(self):
        directory = host_dir("etcd")
        render("etcd.yml.template", os.path.join(directory, "etcd.yml"), NAME="etcd1", ADDRESS=ADDRESS["etcd"],
               DATA_DIR=os.path.join(directory, "data"))
        spawn("etcd", "etcd", ["etcd", "--config-file", os.path.join(directory, "etcd.yml")])
        assert wait_until(lambda: requests.get(f"http://{ADDRESS['etcd']}:2379/health", timeout=1).json()["health"] == "true",
                          timeout=20), "etcd did not become healthy"

    def start_patroni(self, node):
        directory = host_dir(node)
        shutil.chown(directory, "postgres", "postgres")
        os.chmod(directory, 0o700)
        config = os.path.join(directory, "patroni.yml")
        render("patroni.yml.template", config, NAME=node, ADDRESS=ADDRESS[node], NETWORK=f"{NETWORK}.0/24",
               ETCD_HOSTS=f"{ADDRESS['etcd']}:2379", DATA_DIR=os.path.join(directory, "data"), SOCKET_DIR=directory,
               PG_BIN=PG_BIN, SUPERUSER_PASSWORD=self.passwords["postgres"],
               REPLICATION_PASSWORD=self.passwords["replicator"], REWIND_PASSWORD=self.passwords["rewinder"])
        shutil.chown(config, "postgres", "postgres")
        os.chmod(config, 0o600)
        spawn(node, "patroni", ["patroni", config], user="postgres")

    def members(self):
        """Patroni's view: name -> {role, state, lag…}, from any node that answers."""
        for node in PG_NODES:
            try:
                r = requests.get(f"http://{ADDRESS[node]}:8008/cluster", timeout=1)
                return {m["name"]: m for m in r.json()["members"]}
            except (requests.RequestException, ValueError):
                continue
        return {}

    def leader(self):
        for name, member in self.members().items():
            if member["role"] == "leader" and member["state"] == "running":
                return name
        return None

    def sync_standby(self):
        for name, member in self.members().items():
            if member["role"] == "sync_standby" and member["state"] in ("streaming", "running"):
                return name
        return None

    def wait_replicated(self, timeout=90):
        assert wait_until(lambda: self.leader() and self.sync_standby(), timeout=timeout, interval=0.25), \
            f"no leader with a synchronous standby: {json.dumps(self.members())}"

    def superuser_sql(self, statement, node=None):
        node = node or self.leader()
        env = {"PATH": os.environ["PATH"], "PGPASSWORD": self.passwords["postgres"]}
        return run("client", ["psql", f"host={ADDRESS[node]} user=postgres dbname=postgres", "-v", "ON_ERROR_STOP=1",
                              "-qAtc", statement], env=env).stdout.strip()

    def owner_sql(self, statement):
        """A query as the owner through the multi-host URL (it reaches the primary)."""
        env = {"PATH": os.environ["PATH"], "PGPASSWORD": self.passwords["owner"]}
        return run("client", ["psql", multi_host_url("controlplane_owner"), "-v", "ON_ERROR_STOP=1", "-qAtc", statement],
                   env=env).stdout.strip()

    def create_database(self):
        self.superuser_sql(f"CREATE ROLE controlplane_owner LOGIN CREATEROLE PASSWORD '{self.passwords['owner']}'")
        self.superuser_sql("CREATE DATABASE controlplane OWNER controlplane_owner")
        owner_env = {"PATH": os.environ["PATH"], "PGPASSWORD": self.passwords["owner"]}
        run("client", [os.path.join(BIN, "cpctl"), "migrate", "--database-url", multi_host_url("controlplane_owner"),
                       "--dir", os.path.join(REPO, "sql")], env=owner_env, timeout=300)
        self.superuser_sql(f"CREATE ROLE controlplane_app_user LOGIN PASSWORD '{self.passwords['app']}' IN ROLE controlplane_app")
        self.superuser_sql(f"CREATE ROLE controlplane_sync_user LOGIN PASSWORD '{self.passwords['sync']}' IN ROLE controlplane_sync")

    # App hosts, front, peers, sync hosts

    def make_shared_secrets(self):
        """What every app and sync host shares: tokens, keys, the JWT signing key."""
        shared = host_dir("shared")
        self.secrets = {
            "PPOS_CONTROL_TOKEN": "cpct_" + secrets.token_urlsafe(32),
            "CONTROLPLANE_INTERNAL_TOKEN": "cpst_" + secrets.token_urlsafe(32),
            "CONTROLPLANE_PROVISIONER_SECRET": "whsec_" + base64.b64encode(os.urandom(32)).decode(),
            "CONTROLPLANE_HASH_KEY": secrets.token_urlsafe(32),
            "CONTROLPLANE_SECRETS_KEYS": base64.b64encode(os.urandom(32)).decode(),
        }
        with open(os.path.join(shared, "secrets.env"), "w") as f:
            f.writelines(f"{key}='{value}'\n" for key, value in self.secrets.items())
        keys = os.path.join(shared, "keys")
        os.makedirs(keys, exist_ok=True)
        run("client", [os.path.join(BIN, "cpctl"), "keys", "generate", "--out", os.path.join(keys, "preflight-1.pem")])
        run("client", ["openssl", "pkey", "-in", os.path.join(keys, "preflight-1.pem"), "-pubout",
                       "-out", os.path.join(keys, "preflight-1.pub.pem")])
        owner_env = {"PATH": os.environ["PATH"], "PGPASSWORD": self.passwords["owner"]}
        run("client", [os.path.join(BIN, "cpctl"), "tokens", "create", "--database-url", multi_host_url("controlplane_owner"),
                       "--name", "cluster-internal", "--scopes", "all", "--token-stdin"],
            env=owner_env, input=self.secrets["CONTROLPLANE_INTERNAL_TOKEN"])

    def start_app_host(self, host):
        directory = host_dir(host)
        shared = os.path.join(DIR, "shared")
        shutil.copy(os.path.join(shared, "secrets.env"), os.path.join(directory, "secrets.env"))
        shutil.copytree(os.path.join(shared, "keys"), os.path.join(directory, "keys"), dirs_exist_ok=True)
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
               "STACK_DIR": directory, "SKIP_BUILD": "1", "BUILD_CONFIG": "debug", "LISTEN_ADDRESS": ADDRESS[host],
               "TRUSTED_PROXIES": ADDRESS["front"], "TRIAL_RATE": "2000r/s",
               "CONTROLPLANE_TRIAL_MAX_DRAFTS_PER_NETWORK_PER_HOUR": "100000",
               "CONTROLPLANE_DICTIONARY_POLL_SECONDS": "2",
               # The fake registry and the receiver live on this private network, over http and
               # under the test's own CA.
               "CONTROLPLANE_REGISTRY_ALLOW_HTTP": "on", "CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS": f"{NETWORK}.0/24",
               "APP_DATABASE_URL": multi_host_url("controlplane_app_user"), "APP_DATABASE_PASSWORD": self.passwords["app"],
               "OWNER_DATABASE_URL": multi_host_url("controlplane_owner"),
               "SYNC_DATABASE_URL": multi_host_url("controlplane_sync_user")}
        run(host, [os.path.join(REPO, "scripts", "stack.sh"), "start"], env=env, cwd=REPO, timeout=180)

    def start_front(self):
        directory = host_dir("front")
        os.makedirs(os.path.join(directory, "tmp"), exist_ok=True)
        shutil.copy(os.path.join(REPO, "cluster", "front-problems.conf"), os.path.join(directory, "front-problems.conf"))

        def servers(port):
            return "\n".join(f"        server {ADDRESS[h]}:{port} max_fails=2 fail_timeout=5s;" for h in APP_HOSTS)
        config = os.path.join(directory, "nginx.conf")
        render("front-nginx.conf.template", config, RUN_DIR=directory, ADDRESS=ADDRESS["front"],
               PUBLIC_SERVERS=servers(8080), INTERNAL_SERVERS=servers(8081))
        run("front", ["nginx", "-t", "-q", "-c", config, "-p", directory, "-e", os.path.join(directory, "error.log")])
        run("front", ["nginx", "-c", config, "-p", directory, "-e", os.path.join(directory, "error.log")])
        assert wait_until(lambda: requests.get(f"{self.front}/internal/live", timeout=2).status_code == 200, timeout=20)

    def app_internal(self, host):
        return f"http://{ADDRESS[host]}:8081"

    def app_public(self, host):
        return f"http://{ADDRESS[host]}:8080"

    def start_peers(self):
        directory = host_dir("peers")
        run("peers", ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-days", "2", "-subj", "/CN=receiver", "-addext", f"subjectAltName=IP:{ADDRESS['peers']}",
                      "-keyout", os.path.join(directory, "receiver.key"), "-out", os.path.join(directory, "receiver.pem")])
        self.receiver_log = os.path.join(directory, "received.jsonl")
        spawn("peers", "registry", [sys.executable, os.path.join(REPO, "Tests", "e2e", "fake_registry.py"),
                                                                 "--host", ADDRESS["peers"], "--port", str(REGISTRY_PORT)])
        receiver_env = {**os.environ, "RECEIVER_BIND": ADDRESS["peers"],
                        "RECEIVER_TLS_CERT": os.path.join(directory, "receiver.pem"),
                        "RECEIVER_TLS_KEY": os.path.join(directory, "receiver.key")}
        spawn("peers", "receiver", [sys.executable, os.path.join(REPO, "Tests", "e2e", "webhook_receiver.py"),
                                                                 str(RECEIVER_PORT), self.receiver_log, "200"], env=receiver_env)
        assert wait_until(lambda: requests.get(f"{self.registry}/_control/requests", timeout=1).status_code == 200, timeout=10)

    def sync_environment(self):
        shared = os.path.join(DIR, "shared")
        return {"PATH": os.environ["PATH"],
                "CONTROLPLANE_SYNC_DATABASE_URL": multi_host_url("controlplane_sync_user"),
                "CONTROLPLANE_SYNC_DATABASE_PASSWORD": self.passwords["sync"],
                "CONTROLPLANE_JWT_KEY_FILES": os.path.join(shared, "keys", "preflight-1.pem"),
                "CONTROLPLANE_JWT_ISSUER": "controlplane",
                "CONTROLPLANE_SECRETS_KEYS": self.secrets["CONTROLPLANE_SECRETS_KEYS"],
                "CONTROLPLANE_REGISTRY_ALLOW_HTTP": "on",
                "CONTROLPLANE_SYNC_BACKOFF_SECONDS": "0.05", "CONTROLPLANE_SYNC_TIMEOUT_SECONDS": "5",
                "CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS": f"{NETWORK}.0/24",
                "CONTROLPLANE_WEBHOOK_CA_FILE": os.path.join(DIR, "peers", "receiver.pem"),
                "CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE": "0.2,0.5,1,2"}

    def start_sync_hosts(self):
        """Each sync host runs its sweep and its deliveries as two busy timers would: each its
        own loop, both at once."""
        for host in SYNC_HOSTS:
            for name, command in (("sweep", "registry-sweep --parallel 2"),
                                  # Short runs (10 messages), as a busy timer's: a host that
                                  # keeps finding work would otherwise keep the endpoint to itself.
                                  ("deliver", "deliver --workers 2 --max 10 --outbox webhooks,commands")):
                loop = f'while :; do "{BIN}/controlplane-sync" {command}; sleep 0.2; done'
                spawn(host, name, ["bash", "-c", loop], env=self.sync_environment())

    def stop_sync_hosts(self):
        for host in SYNC_HOSTS:
            kill_host(host)

    def bring_up(self):
        self.start_etcd()
        for node in PG_NODES:
            self.start_patroni(node)
            if node == PG_NODES[0]:
                # The first node bootstraps the cluster; the second then clones it.
                assert wait_until(lambda: self.leader() == PG_NODES[0], timeout=60, interval=0.25), "pg1 did not bootstrap"
        self.wait_replicated()
        self.create_database()
        self.make_shared_secrets()
        self.start_peers()
        for host in APP_HOSTS:
            self.start_app_host(host)
        self.start_front()
