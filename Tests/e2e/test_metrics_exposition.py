"""/internal/metrics to Prometheus' conventions: `promtool check metrics` (Debian's prometheus)
finds nothing to say about the whole exposition; the process families are there and sane;
"never" is an absent series; outbox dead letters and the oldest waiting message's age."""
import os
import re
import shutil
import subprocess
import time

import requests

from governance_support import control  # noqa: F401 (fixture)
from sql_support import sql


def scrape(env):
    r = requests.get(env["CONTROLPLANE_INTERNAL_URL"] + "/internal/metrics",
                     headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def value(text, series):
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


def test_promtool_finds_nothing_to_say(env, control):  # noqa: F811
    control.add_region("http://127.0.0.1:9")  # a region never swept: its freshness series are absent, not 0 or -1
    promtool = shutil.which("promtool")
    assert promtool, "promtool is needed (Debian: prometheus; scripts/install-deps.sh installs it)"
    text = scrape(env)
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", r.stdout + r.stderr
    # A break promtool must catch, so the check above can fail: a counter without _total.
    broken = text + "# HELP controlplane_broken Broken.\n# TYPE controlplane_broken counter\ncontrolplane_broken 1\n"
    r = subprocess.run([promtool, "check", "metrics"], input=broken, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "_total" in r.stdout + r.stderr


def test_process_metrics_and_absent_nevers(env, control):  # noqa: F811
    region = control.add_region("http://127.0.0.1:9")
    text = scrape(env)
    pid = int(open(env["CONTROLPLANE_PID_FILE"]).read())
    rss = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS")) * 1024
    assert 0.5 * rss < value(text, "process_resident_memory_bytes") < 2 * rss
    assert value(text, "process_open_fds") >= 3 and value(text, "process_max_fds") >= value(text, "process_open_fds")
    started = value(text, "process_start_time_seconds")
    assert time.time() - 3600 * 24 < started <= time.time() and value(text, "process_cpu_seconds_total") > 0
    assert value(text, 'controlplane_build_info{version="1.4.0"}') == 1
    assert f'region="{region}"' in text  # the region is there (its health)…
    assert f'controlplane_region_last_good_sweep_timestamp_seconds{{region="{region}"}}' not in text  # …never swept: absent
    assert "controlplane_region_seconds_behind" not in text and " -1\n" not in text


def test_outbox_dead_letters_and_the_oldest_waiting_age(env):
    sql(env, "UPDATE email_outbox SET status = 'superseded' WHERE status = 'pending'")
    assert value(scrape(env), 'controlplane_outbox_oldest_pending_age_seconds{outbox="email"}') is None  # none waits: absent
    before = value(scrape(env), 'controlplane_outbox_dead{outbox="email"}')
    sql(env, "INSERT INTO email_outbox (template, to_address, status, created_at) "
             "VALUES ('work_email_otp', 'metrics-test@example.com', 'pending', now() - interval '90 seconds'), "
             "('work_email_otp', 'metrics-test@example.com', 'dead', now())")
    text = scrape(env)
    assert 90 <= value(text, 'controlplane_outbox_oldest_pending_age_seconds{outbox="email"}') < 150
    assert value(text, 'controlplane_outbox_dead{outbox="email"}') == before + 1
    sql(env, "UPDATE email_outbox SET status = 'superseded' WHERE to_address = 'metrics-test@example.com'")


def test_dead_letter_counts_and_recovery_use_their_partial_indexes(env):
    """Migration 0030: what a scrape and a recovery ask of the outboxes is answered from small
    partial indexes, not by reading every delivered message (shown with sequential scans off,
    which leaves the planner only the index if the index can answer)."""
    for statement, index in (
            ("SELECT count(*) FROM webhook_outbox WHERE status = 'dead'", "webhook_outbox_dead"),
            ("UPDATE webhook_outbox SET status = 'pending' WHERE endpoint_id = '00000000-0000-4000-8000-000000000000'::uuid "
             "AND status = 'dead' AND created_at >= now() - interval '1 day'", "webhook_outbox_dead"),
            ("SELECT count(*) FROM email_outbox WHERE status = 'dead'", "email_outbox_dead"),
            ("SELECT count(*) FROM governance_commands WHERE status = 'FAILED'", "governance_commands_failed"),
            ("SELECT count(*) FROM admin_jobs WHERE status = 'FAILED'", "admin_jobs_failed")):
        plan = sql(env, f"SET enable_seqscan = off; EXPLAIN {statement}").stdout
        assert index in plan, (statement, plan)
