"""controlplaned under systemd's notify protocol (Type=notify), with a datagram socket this test
owns as NOTIFY_SOCKET: READY=1 once it listens and the database answered, a php-fpm-like
STATUS= line, WATCHDOG=1 only while workers make progress; and a request held by a database
lock is logged as slow while it is still running."""
import json
import socket
import subprocess
import threading
import time

from fcgi_client import request_params, roundtrip
from sql_support import sql


def receive(sock, seconds):
    """Every datagram within `seconds`, each with when it came."""
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append((time.monotonic(), sock.recv(4096).decode()))
        except socket.timeout:
            break
    return got


def test_ready_status_and_a_watchdog_fed_only_while_workers_make_progress(env, backend_factory, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    backend = backend_factory(extra={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000", "CONTROLPLANE_THREADS": "1",
                                     "CONTROLPLANE_SLOW_REQUEST_MS": "700"})
    first = receive(sock, 3)
    texts = [text for _, text in first]
    ready = next(text for text in texts if text.startswith("READY=1"))
    assert ready == "READY=1\nSTATUS=Ready: 0 busy, 1 idle workers; 0 requests, 0 slow", texts
    assert "WATCHDOG=1" in texts and any(t.startswith("STATUS=Ready: ") for t in texts[texts.index(ready) + 1:])

    # The one worker waits on a row lock held for 3.5 s: no progress, so no WATCHDOG=1 then.
    tenant = sql(env, "SELECT id FROM tenants_master WHERE status = 'active' LIMIT 1").stdout.strip()
    if not tenant:
        tenant = sql(env, "INSERT INTO tenants_master (slug, display_name, status, plan, contact_email) VALUES "
                          "('notify-test', 'Notify', 'active', 'trial', 'ops@notify.example') RETURNING id").stdout.strip()
    holder = subprocess.Popen(["psql", env["DATABASE_URL"], "-qAt", "-c",
                               f"BEGIN; SELECT 1 FROM tenants_master WHERE id = '{tenant}' FOR UPDATE; SELECT pg_sleep(3.5); COMMIT;"],
                              stdout=subprocess.DEVNULL)
    time.sleep(0.5)  # the lock is held
    answer = {}
    body = b'{"reason": "notify"}'
    params = request_params("POST", f"/internal/tenants/{tenant}/suspend", body_length=len(body), content_type="application/json",
                            extra={"HTTP_AUTHORIZATION": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}", "TRACE_ID": "held-by-a-lock"})
    worker = threading.Thread(target=lambda: answer.update(result=roundtrip(backend.socket_path, params, body)))
    started = time.monotonic()
    worker.start()
    during = receive(sock, 2.5)
    still_running = [json.loads(line) for line in backend.log_text().splitlines() if '"request still running"' in line]
    assert worker.is_alive(), "the request was not held"
    assert [(e["traceId"], e["path"]) for e in still_running] == [("held-by-a-lock", f"/internal/tenants/{tenant}/suspend")]
    assert still_running[0]["runningMs"] >= 700
    watchdog_while_stuck = [t - started for t, text in during if text == "WATCHDOG=1" and t - started > 1.2]
    assert watchdog_while_stuck == [], during
    assert any(text == "STATUS=Ready: 1 busy, 0 idle workers; 1 requests, 0 slow" for _, text in during), during
    worker.join(15)
    holder.wait(15)
    assert answer["result"][0] in (200, 409), answer
    after = receive(sock, 2.5)
    assert any(text == "WATCHDOG=1" for _, text in after), after  # working again: fed again
    assert any(text.startswith("STATUS=Ready: 0 busy, 1 idle workers; 1 requests, 1 slow") for _, text in after), after
    sock.close()
