"""The benchmark driver `make bench` runs (see scripts/bench.sh): each hot path of the
control plane next to its reference, measured in the same run on the same machine.
Writes a Markdown table and prints it."""
import argparse
import glob
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CONNECTIONS = 64


def load_env(path):
    values = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = shlex.split(value)[0] if value else ""
    return values


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs).stdout


def psql(env, sql, key="DATABASE_URL"):
    return sh("psql", env[key], "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql)


def wrk(url, duration, headers=(), script=None, connections=CONNECTIONS):
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    if script:
        args += ["-s", script]
    out = sh(*args, url)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    return {"rate": rate, "p50": percentile(50), "p99": percentile(99), "errors": errors}


def pgbench(env, sql, duration, pgbin):
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "q.sql")
        open(script, "w").write(sql + "\n")
        out = sh(f"{pgbin}/pgbench", "-n", "-M", "prepared", f"-c{CONNECTIONS}", "-j2", f"-T{duration}", "-f", script,
                 "-l", "--log-prefix", os.path.join(tmp, "log"), env["DATABASE_URL"])
        rate = float(re.search(r"tps = ([\d.]+)", out).group(1))
        latencies = []
        for path in glob.glob(os.path.join(tmp, "log*")):
            for line in open(path):
                parts = line.split()
                if len(parts) >= 3:
                    latencies.append(int(parts[2]) / 1000)
        latencies.sort()
        failed = int(re.search(r"number of failed transactions: (\d+)", out).group(1)) if "failed transactions" in out else 0
        return {"rate": rate, "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)],
                "errors": failed}


def interleaved(measurements, rounds):
    """Runs each measurement `rounds` times, taking turns (ours, reference, ours, …) in an order
    reversed every other round (ABBA), and keeps each one's median run by rate: drift on a
    shared machine then hits both sides alike, and neither side always runs first."""
    runs = {name: [] for name in measurements}
    for round_number in range(rounds):
        order = list(measurements.items())
        for name, measure in (order if round_number % 2 == 0 else reversed(order)):
            runs[name].append(measure())
    return {name: sorted(results, key=lambda r: r["rate"])[len(results) // 2] for name, results in runs.items()}


def console_session(env):
    """A signed-in console session (an admin made for the run), as its cookie."""
    name = f"bench-{int(time.time())}"
    run_env = {**os.environ, "CONTROLPLANE_CONSOLE_URL": env["CONTROLPLANE_CONSOLE_URL"]}
    subprocess.run([env["CPCTL"], "operators", "add", "--name", name, "--role", "admin", "--database-url", env["DATABASE_URL"]],
                   check=True, capture_output=True, env=run_env)
    link = sh(env["CPCTL"], "console", "login-link", "--operator", name, "--database-url", env["DATABASE_URL"], env=run_env).strip().splitlines()[-1]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        urllib.request.build_opener(NoRedirect).open(link, timeout=30)
        raise SystemExit("the sign-in link did not answer 303")
    except urllib.error.HTTPError as answer:
        assert answer.code == 303, answer.code
        return answer.headers["set-cookie"].split(";")[0]


def seed_tenants(env, count=10_000):
    have = int(psql(env, "SELECT count(*) FROM tenants_master"))
    if have >= count:
        return
    psql(env, f"""
        INSERT INTO tenants_master (slug, display_name, status, site_hostname, plan, contact_email, connector_kind, connector_credential_ref)
        SELECT 'bench-' || i, 'Bench Tenant ' || i,
               (ARRAY['active','active','active','suspended','provisioning'])[1 + i % 5],
               'bench-' || i || '.erp.example.com', (ARRAY['trial','business','enterprise'])[1 + i % 3],
               'ops@bench-' || i || '.example.com',
               CASE WHEN i % 2 = 0 THEN 'frappe' END,
               CASE WHEN i % 2 = 0 THEN 'kv:erp_cred:bench-' || i END
        FROM generate_series({have + 1}, {count}) AS i""")
    psql(env, "VACUUM ANALYZE tenants_master")


def row(name, ours, reference, ref_name, unit="req/s"):
    ratio = ours["rate"] / reference["rate"] if reference and reference["rate"] else None
    return {"name": name, "ours": ours, "reference": reference, "ref_name": ref_name, "ratio": ratio, "unit": unit}


def fmt(result, unit):
    if result is None:
        return "–", "–", "–", "–"
    p50 = f"{result['p50']:.2f} ms" if result.get("p50") is not None else "–"
    p99 = f"{result['p99']:.2f} ms" if result.get("p99") is not None else "–"
    return f"{result['rate']:,.0f} {unit}", p50, p99, str(result.get("errors", 0))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--php", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True)
    parser.add_argument("--static-dir", required=True, help="a directory nginx serves at --static-url")
    parser.add_argument("--static-url", required=True)
    args = parser.parse_args()
    # BENCH_ONLY=directory,ingest runs only those sections (the data is seeded either way).
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    def section(name):
        return not only or name in only
    env = load_env(args.env)
    pgbin = env["CONTROLPLANE_PG_BIN"]
    d = args.duration
    rows = []
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tmp = tempfile.mkdtemp()

    print("== data: 10,000 tenants, the public domain lists, 50,000 registry jobs (2–20 KB)", flush=True)
    seed_tenants(env)
    subprocess.run([os.path.join(repo, "scripts", "load-public-domain-lists.sh"), "--database-url", env["DATABASE_URL"]],
                   check=True, env={**os.environ, "CPCTL": env["CPCTL"]}, capture_output=True)
    req = urllib.request.Request(f"{args.registry}/_control/generate", method="POST",
                                 data=json.dumps({"count": 50000, "minSize": 2000, "maxSize": 20000,
                                                  "statuses": ["COMPLETED", "COMPLETED_WITH_FINDINGS", "DEGRADED"],
                                                  "prefix": "bench"}).encode())
    urllib.request.urlopen(req, timeout=600).read()
    time.sleep(3)  # the dictionary watcher picks up the lists

    trivial_url = env["CONTROLPLANE_INTERNAL_URL"] + "/internal/live"
    print("== FastCGI path: trivial route vs nginx static vs php-fpm", flush=True)
    got = {} if not section("fastcgi") else interleaved({"trivial": lambda: wrk(env["CONTROLPLANE_INTERNAL_URL"] + "/internal/live", d),
                       "static": lambda: wrk(env["CONTROLPLANE_STATIC_URL"] + "/", d),
                       "php": lambda: wrk(args.php, d)}, args.rounds)
    if got:
        trivial, static, php = got["trivial"], got["static"], got["php"]
        rows.append(row("trivial route (no DB) via nginx", trivial, static, "nginx static body"))
        rows.append(row("trivial route (no DB) via nginx", trivial, php, "php-fpm (pm static, 16) same body"))

    if section("directory"):
        print("== tenant directory (limit 50) vs pgbench", flush=True)
        auth = f"authorization: Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"
        page_filter = "id > '00000000-0000-0000-0000-000000000000'::uuid"
        plain_sql = (f"SELECT id, slug, display_name, status, site_hostname, plan, connector_kind, connector_credential_ref, "
                     f"created_at, updated_at FROM tenants_master WHERE {page_filter} ORDER BY id LIMIT 51;")
        json_sql = ("SELECT json_build_object('items', COALESCE(json_agg(json_build_object('id', id, 'slug', slug, "
                    "'displayName', display_name, 'status', status, 'siteHostname', site_hostname, 'plan', plan, "
                    "'connectorKind', connector_kind, 'connectorCredentialRef', connector_credential_ref, "
                    "'createdAt', created_at, 'updatedAt', updated_at)), '[]'::json), 'nextCursor', NULL) "
                    f"FROM (SELECT * FROM tenants_master WHERE {page_filter} ORDER BY id LIMIT 50) t;")
        # A token with a rate limit and a daily quota far above the load: what the limits cost.
        limited_token = sh(env["CPCTL"], "tokens", "create", "--name", f"bench-limited-{int(time.time())}", "--scopes", "tenants:read",
                           "--rate-limit", "1000000/s", "--daily-quota", "1000000000000", "--database-url", env["DATABASE_URL"]).strip()
        directory_url = env["CONTROLPLANE_INTERNAL_URL"] + "/internal/tenants-directory?limit=50"
        etag = urllib.request.urlopen(urllib.request.Request(directory_url, headers={"authorization": auth.split(": ", 1)[1]}),
                                      timeout=30).headers["etag"]
        # The largest page, against nginx sending the same bytes from a file: the FastCGI output path.
        big_url = env["CONTROLPLANE_INTERNAL_URL"] + "/internal/tenants-directory?limit=500"
        big = urllib.request.urlopen(urllib.request.Request(big_url, headers={"authorization": auth.split(": ", 1)[1]}), timeout=30).read()
        open(os.path.join(args.static_dir, "page500.json"), "wb").write(big)
        got = interleaved({"directory": lambda: wrk(directory_url, d, headers=[auth]),
                           "limited": lambda: wrk(directory_url, d, headers=[f"authorization: Bearer {limited_token}"]),
                           "revalidate": lambda: wrk(directory_url, d, headers=[auth, f"if-none-match: {etag}"]),
                           "trivial": lambda: wrk(trivial_url, d),
                           "big": lambda: wrk(big_url, d, headers=[auth]),
                           "big_static": lambda: wrk(args.static_url + "page500.json", d),
                           "json": lambda: pgbench(env, json_sql, d, pgbin),
                           "plain": lambda: pgbench(env, plain_sql, d, pgbin)}, args.rounds)
        directory, limited, pg_json, pg_plain = got["directory"], got["limited"], got["json"], got["plain"]
        rows.append(row("GET /internal/tenants-directory?limit=50", directory, pg_json, "pgbench: the page built by PostgreSQL (json_agg)"))
        rows.append(row("GET /internal/tenants-directory?limit=50", directory, pg_plain,
                        "pgbench: the plain row query for the same page (the backend serves it from memory)"))
        rows.append(row("… revalidated with If-None-Match (304)", got["revalidate"], got["trivial"], "the trivial route, same run"))
        rows.append(row("… with a token limited to 1,000,000/s and 10^12 a day", limited, directory, "the same with an unlimited token"))
        rows.append(row(f"GET /internal/tenants-directory?limit=500 ({len(big) / 1024:.0f} KB)", got["big"], got["big_static"],
                        "nginx sending the same bytes from a file"))

    if section("email"):
        print("== email check vs pgbench's single-row attempt INSERT and the trivial route", flush=True)
        lua = os.path.join(tempfile.mkdtemp(), "post.lua")
        open(lua, "w").write('wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\n'
                             'wrk.body = \'{"email":"jane.doe@acme-robotics.com"}\'\n')
        insert_sql = ("INSERT INTO signup_attempts (trace_id, step, email_domain, email_hash, ip_hash, outcome) "
                      "VALUES ('pgbench', 'email_check', 'acme-robotics.com', sha256('x'), sha256('y'), 'work');")
        got = interleaved({"check": lambda: wrk(env["CONTROLPLANE_URL"] + "/api/trial/email/check", d, script=lua),
                           "insert": lambda: pgbench(env, insert_sql, d, pgbin),
                           "trivial": lambda: wrk(trivial_url, d)}, args.rounds)
        check, pg_insert = got["check"], got["insert"]
        rows.append(row("POST /api/trial/email/check", check, pg_insert, "pgbench: the attempt row's single-row INSERT"))
        rows.append(row("POST /api/trial/email/check", check, got["trivial"], "the trivial route, same run"))

    if section("classifier"):
        print("== classifier alone (one core, in process)", flush=True)
        for kind in ("free", "disposable"):
            open(os.path.join(tmp, f"{kind}.txt"), "w").write(psql(env, f"SELECT domain FROM email_domains WHERE kind = '{kind}'"))
        bench_bin = os.path.join(os.path.dirname(env["CPCTL"]), "controlplane-bench")
        out = sh("taskset", "-c", "0", bench_bin, "classifier", os.path.join(tmp, "free.txt"), os.path.join(tmp, "disposable.txt"))
        classifier_rate = float(out.split("\t")[1])
        rows.append({"name": "email classifier alone (1 core)", "ours": {"rate": classifier_rate}, "reference": {"rate": 1_000_000},
                     "ref_name": "target 1,000,000 checks/s", "ratio": classifier_rate / 1_000_000, "unit": "checks/s"})

    if section("ingest"):
        print("== sync ingest of 50,000 jobs vs COPY of the same payloads", flush=True)
        psql(env, f"INSERT INTO regions (id, base_url, page_size, requests_per_second, max_records_per_run) "
                  f"VALUES ('bench', '{args.registry}', 200, 0, 100000) ON CONFLICT (id) DO NOTHING")
        sync_env = {**os.environ, "CONTROLPLANE_SYNC_DATABASE_URL": env["CONTROLPLANE_SYNC_DATABASE_URL"],
                    "CONTROLPLANE_JWT_KEY_FILES": env["CONTROLPLANE_JWT_KEY_FILES"]}
        started = time.monotonic()
        subprocess.run([env["CONTROLPLANE_SYNC"], "registry-sweep", "--region", "bench"], check=True, env=sync_env, capture_output=True)
        sweep_seconds = time.monotonic() - started
        records, size = (int(x) for x in psql(env, "SELECT count(*), sum(length(payload)) FROM job_revisions WHERE region_id = 'bench'").split("|"))
        dump = os.path.join(tmp, "payloads.copy")
        psql(env, "CREATE TABLE IF NOT EXISTS bench_copy (LIKE job_revisions INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)")
        psql(env, "TRUNCATE bench_copy")
        sh("psql", env["DATABASE_URL"], "-qc", f"\\copy (SELECT * FROM job_revisions WHERE region_id = 'bench') TO '{dump}' WITH (FORMAT binary)")
        started = time.monotonic()
        sh("psql", env["DATABASE_URL"], "-qc", f"\\copy bench_copy FROM '{dump}' WITH (FORMAT binary)")
        copy_seconds = time.monotonic() - started
        psql(env, "DROP TABLE bench_copy")
        ingest = {"rate": records / sweep_seconds, "p50": None, "p99": None, "errors": 50000 - records,
                  "mbps": size / sweep_seconds / 1e6}
        copy = {"rate": records / copy_seconds, "p50": None, "p99": None, "errors": 0, "mbps": size / copy_seconds / 1e6}
        rows.append(row(f"sync ingest ({records:,} jobs, {size / 1e6:,.0f} MB; {ingest['mbps']:.0f} MB/s)", ingest, copy,
                        f"COPY into a copy of job_revisions ({copy['mbps']:.0f} MB/s)", unit="records/s"))

    if section("console"):
        print("== console pages (10,000 tenants, 50,000 jobs) at 8 connections: p99 against the 50 ms target", flush=True)
        cookie = console_session(env)
        # The ingest above wrote half a gigabyte: its checkpoint and the autovacuum it triggers are
        # not the console's cost, so both happen before the console is measured.
        psql(env, "CHECKPOINT", key="CONTROLPLANE_ADMIN_DATABASE_URL")
        psql(env, "VACUUM ANALYZE jobs, job_revisions, sweep_runs, signup_attempts")  # as the owner; the email check bench wrote the last
        job_id = psql(env, "SELECT job_id FROM jobs WHERE region_id = 'bench' ORDER BY job_id LIMIT 1").strip()
        for path in ("", "tenants", "tenants?q=bench-99", "jobs?region=bench", f"jobs/bench/{job_id}", "regions/bench", "nodes",
                     "commands", "audit", "access"):
            url = env["CONTROLPLANE_CONSOLE_URL"] + path
            size = len(urllib.request.urlopen(urllib.request.Request(url, headers={"cookie": cookie}), timeout=30).read())
            wrk(url, 1, headers=[f"cookie: {cookie}"], connections=8)  # warm-up, not counted
            result = wrk(url, max(3, d // 2), headers=[f"cookie: {cookie}"], connections=8)
            rows.append({"name": f"GET /console/{path} ({size / 1024:.0f} KB)", "ours": result, "reference": {"rate": 0, "p50": None, "p99": 50.0},
                         "ref_name": "target: p99 under 50 ms (ratio: target / p99)", "ratio": 50.0 / result["p99"], "unit": "req/s"})

    pid = int(open(env["CONTROLPLANE_PID_FILE"]).read())
    def status(field):
        return next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith(field))
    rss, threads = status("VmHWM"), status("Threads")
    memory = []
    if section("memory"):
        # The in-memory directory at 10,000 tenants (as seeded) and at 100,000: RSS now, after a walk.
        print("== controlplaned memory with 10,000 and 100,000 tenants", flush=True)
        for count in (10_000, 100_000):
            seed_tenants(env, count)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the watcher applies the delta; a full walk shows it done
                seen, cursor = 0, None
                while True:
                    url = env["CONTROLPLANE_INTERNAL_URL"] + "/internal/tenants-directory?limit=500" + (f"&cursor={cursor}" if cursor else "")
                    page = json.load(urllib.request.urlopen(urllib.request.Request(
                        url, headers={"authorization": f"Bearer {env['CONTROLPLANE_INTERNAL_TOKEN']}"}), timeout=30))
                    seen += len(page["items"])
                    cursor = page["nextCursor"]
                    if not cursor:
                        break
                if seen >= count:
                    break
                time.sleep(0.5)
            memory.append(f"{seen:,} tenants: RSS {status('VmRSS') / 1024:.1f} MB")

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    lines = [f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores ({cpu}), "
             f"{platform.system()} {platform.release()}; wrk and pgbench on the same machine, {CONNECTIONS} connections, "
             f"{d} s each, median of {args.rounds} rounds taken in turns with the references; release build, "
             f"backend access log off.", "",
             "| path | ours | p50 | p99 | errors | reference | reference figure | ref p99 | ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ours = fmt(r["ours"], r["unit"]) if "p50" in r["ours"] else (f"{r['ours']['rate']:,.0f} {r['unit']}", "–", "–", "–")
        if r["ref_name"].startswith("target: p99"):
            ref = ("–", "–", "50.00 ms", "–")
        else:
            ref = fmt(r["reference"], r["unit"]) if r["reference"] and "p50" in r["reference"] else (f"{r['reference']['rate']:,.0f}", "–", "–", "–")
        lines.append(f"| {r['name']} | {ours[0]} | {ours[1]} | {ours[2]} | {ours[3]} | {r['ref_name']} | {ref[0]} | {ref[2]} | "
                     f"{r['ratio']:.2f} |")
    lines += ["", f"controlplaned peak RSS: {rss / 1024:.1f} MB ({threads} threads) after all of the above (10,000 tenants)."]
    if memory:
        lines += ["", "controlplaned with the directory in memory (after a full walk of it): " + "; ".join(memory) + "."]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    open(args.out, "w").write(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
