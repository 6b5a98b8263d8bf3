"""The database stopped and restarted under the running backend: 503 problems during the
outage, 200 again after it, the same process throughout."""
import json
import os
import subprocess
import threading
import time
import uuid

import requests

import fcgi_client as fcgi
from conftest import assert_problem, wait_until
from sql_support import sql


def pg_ctl(env, action, mode="fast"):
    command = [f"{env['CONTROLPLANE_PG_BIN']}/pg_ctl", "-D", env["CONTROLPLANE_PG_DATA"], "-w", "-t", "60"]
    if action == "stop":
        command += ["-m", mode, "stop"]
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


def test_directory_reads_from_memory_ride_through_an_outage_with_a_looked_up_token(env, internal):
    """The directory is served from memory; the token, looked up before the outage, is still
    believed while the database is away (CONTROLPLANE_TOKEN_STALE_IF_UNAVAILABLE_SECONDS)."""
    headers = {"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}
    directory = f"{internal}/internal/tenants-directory?limit=5"
    session = requests.Session()
    for _ in range(200):  # spread over the worker pool: each worker looks the token up
        assert session.get(directory, headers=headers).status_code == 200
    pg_ctl(env, "stop")
    try:
        # Past every cached lookup's TTL (make test's stack: 1 s): each read now needs the
        # database to vouch for the token, and it is away.
        time.sleep(float(os.environ.get("CONTROLPLANE_TOKEN_CACHE_SECONDS", "5")) + 0.5)
        answers = [requests.get(directory, headers=headers, timeout=10) for _ in range(30)]
        # A token nobody looked up is never believed: the outage answers 503.
        stranger = requests.get(directory, headers={"authorization": "Bearer cpst_" + "x" * 43}, timeout=10)
    finally:
        pg_ctl(env, "start")
    statuses = [r.status_code for r in answers]
    print(f"directory reads during the outage: {statuses.count(200)} × 200, {statuses.count(503)} × 503")
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 20, statuses  # a worker that never served the token answers 503
    assert all(assert_problem(r, 503)["type"] == "urn:controlplane:problem:database-unavailable" for r in answers if r.status_code == 503)
    assert stranger.status_code in (401, 503)
    assert wait_until(lambda: requests.get(f"{internal}/internal/health").status_code == 200, timeout=15)


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


def test_email_checks_answered_200_all_have_their_rows_through_a_database_kill(env, backend_factory):
    """Issue #20's group commit: a burst of concurrent email checks, PostgreSQL killed
    (immediate: no shutdown checkpoint, sessions cut) mid-burst and started again. Every check
    answered 200 has its attempt row; the rest were answered 503, none hung."""
    backend = backend_factory(extra={"CONTROLPLANE_HASH_KEY": env["CONTROLPLANE_HASH_KEY"], "CONTROLPLANE_THREADS": "8"})
    run = uuid.uuid4().hex[:12]
    answers, stop = [], threading.Event()

    def client(k):
        i = 0
        while not stop.is_set():
            trace = f"{run}{k:02d}{i:06d}"
            body = json.dumps({"email": f"user{i}@burst-{run}.com"}).encode()
            started = time.monotonic()
            status, _, answer = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
                "POST", "/v1/trial/email/check", body_length=len(body), content_type="application/json",
                extra={"TRACE_ID": trace}), body)
            answers.append((trace, status, time.monotonic() - started, answer, time.monotonic()))
            i += 1

    clients = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in clients:
        t.start()
    try:
        time.sleep(1.0)
        killed_at = time.monotonic()
        pg_ctl(env, "stop", mode="immediate")
        time.sleep(1.5)
        restarted_at = time.monotonic()
    finally:
        pg_ctl(env, "start")
    assert wait_until(lambda: any(a[1] == 200 and a[4] > restarted_at for a in answers), timeout=20)
    stop.set()
    for t in clients:
        t.join(30)
    assert not any(t.is_alive() for t in clients), "a request hung"
    statuses = {}
    for _, status, _, answer, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200:
            assert status == 503 and json.loads(answer)["status"] == 503, answer
    answered = {trace for trace, status, *_ in answers if status == 200}
    logged = set(sql(env, f"SELECT trace_id FROM signup_attempts WHERE trace_id LIKE '{run}%'").stdout.split())
    missing = answered - logged
    assert not missing, f"{len(missing)} checks answered 200 have no attempt row"
    before = sum(1 for a in answers if a[1] == 200 and a[4] < killed_at)
    during = sum(1 for a in answers if a[1] == 503)
    print(f"answers {statuses}; 200 before the kill {before}; rows {len(logged)}; slowest {max(a[2] for a in answers):.2f}s")
    assert before > 0 and during > 0
    assert max(a[2] for a in answers) < 15


def test_email_checks_waiting_for_their_commit_hold_no_worker(env, backend_factory):
    """An email check waits for its group commit without holding a worker thread: with 2
    workers and the attempt table locked, 24 checks all get in, gather into one or two
    batches, and are answered 200 once the lock goes. (Were each check to hold its worker
    while it waits, no batch could hold more than 2 rows.)"""
    backend = backend_factory(extra={"CONTROLPLANE_HASH_KEY": env["CONTROLPLANE_HASH_KEY"], "CONTROLPLANE_THREADS": "2"})
    holder = subprocess.Popen(["psql", env["DATABASE_URL"], "-qAtX", "-c",
                               "BEGIN; LOCK TABLE signup_attempts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;"],
                              stdout=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: sql(env, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                           "WHERE c.relname = 'signup_attempts' AND l.mode = 'AccessExclusiveLock' "
                                           "AND l.granted").stdout.strip() == "1", timeout=10)
        run = uuid.uuid4().hex[:12]
        answers = []

        def check(i):
            body = json.dumps({"email": f"user{i}@held-{run}.com"}).encode()
            status, _, answer = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
                "POST", "/v1/trial/email/check", body_length=len(body), content_type="application/json",
                extra={"TRACE_ID": f"{run}{i:04d}"}), body)
            answers.append(status)

        clients = [threading.Thread(target=check, args=(i,)) for i in range(24)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(20)
        assert answers == [200] * 24
    finally:
        holder.wait(20)
    status, _, metrics = fcgi.roundtrip(backend.socket_path, fcgi.request_params(
        "GET", "/internal/metrics", extra={"HTTP_AUTHORIZATION": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}))
    assert status == 200
    values = {line.split()[0]: int(line.split()[1]) for line in metrics.decode().splitlines()
              if line.startswith("controlplane_attempt_log_")}
    assert values["controlplane_attempt_log_rows_total"] == 24
    assert values["controlplane_attempt_log_batches_total"] <= 4, values
    assert sql(env, f"SELECT count(*) FROM signup_attempts WHERE trace_id LIKE '{run}%'").stdout.strip() == "24"
