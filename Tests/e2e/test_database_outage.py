"""The database stopped and restarted under the running backend: 503 problems during the
outage, 200 again after it, the same process throughout."""
import subprocess
import time

import requests

from conftest import assert_problem, wait_until


def pg_ctl(env, action):
    command = [f"{env['CONTROLPLANE_PG_BIN']}/pg_ctl", "-D", env["CONTROLPLANE_PG_DATA"], "-w", "-t", "60"]
    if action == "stop":
        command += ["-m", "fast", "stop"]
    else:
        command += ["-l", env["CONTROLPLANE_PG_DATA"] + "/../postgres.log",
                    "-o", f"-k {env['CONTROLPLANE_PG_SOCKET_DIR']} -c listen_addresses='' -c max_connections=200", "start"]
    subprocess.run(["runuser", "-u", "postgres", "--"] + command, check=True, capture_output=True)


def backend_pid(env):
    with open(env["CONTROLPLANE_PID_FILE"]) as f:
        return int(f.read())


def test_database_restart_gives_503_then_recovers_in_the_same_process(env, internal):
    pid = backend_pid(env)
    assert requests.get(f"{internal}/internal/health").status_code == 200
    pg_ctl(env, "stop")
    try:
        for _ in range(20):  # every worker thread answers, none hangs
            r = requests.get(f"{internal}/internal/health", timeout=10)
            body = assert_problem(r, 503)
            assert body["type"] == "urn:controlplane:problem:database-unavailable"
            assert r.headers["retry-after"] == "1"
    finally:
        pg_ctl(env, "start")
    started = time.monotonic()
    assert wait_until(lambda: requests.get(f"{internal}/internal/health").status_code == 200, timeout=15)
    recovery = time.monotonic() - started
    # Once one thread is back, all are: 50 requests spread over the pool all succeed.
    statuses = [requests.get(f"{internal}/internal/health").status_code for _ in range(50)]
    assert statuses == [200] * 50
    assert backend_pid(env) == pid
    print(f"recovered {recovery:.2f}s after PostgreSQL came back")


def test_terminated_backend_connections_are_replaced_transparently(env, internal):
    """Sessions killed on the server side: reads and writes go on (a write whose connection
    was dead before it began reruns on a new one, once)."""
    from sql_support import scalar
    headers = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    for round_ in range(3):
        assert requests.get(f"{internal}/internal/health").status_code == 200  # at least one live session
        terminated = scalar(env, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE application_name = 'controlplaned'", url_key="CONTROLPLANE_ADMIN_DATABASE_URL")
        assert int(terminated) >= 1, "no backend session was terminated"
        slugs = [f"reconnect-{round_}-{i}-{time.monotonic_ns() % 10**8}" for i in range(12)]
        for slug in slugs:  # more writes than worker threads: each thread meets its dead session
            r = requests.post(f"{internal}/internal/tenants", headers=headers,
                              json={"slug": slug, "displayName": "R", "contactEmail": "a@reconnect.example"})
            assert r.status_code == 201, r.text
        listed = scalar(env, "SELECT count(*) FROM tenants_master WHERE slug = ANY (ARRAY['" + "','".join(slugs) + "'])")
        assert listed == str(len(slugs))  # each once
        statuses = [requests.get(f"{internal}/internal/health").status_code for _ in range(40)]
        assert statuses == [200] * 40
