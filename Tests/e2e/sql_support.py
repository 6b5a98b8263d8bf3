"""SQL from the tests, through psql. `sql` fails the test when psql fails (so a "changes
nothing" comparison can never become "" == ""); `sql_refused` is for statements that must
be refused, and says so when one is accepted."""
import subprocess


def _psql(env, statement, url_key):
    return subprocess.run(["psql", env[url_key], "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", statement],
                          capture_output=True, text=True, timeout=60)


def sql(env, statement, url_key="DATABASE_URL"):
    r = _psql(env, statement, url_key)
    assert r.returncode == 0, f"psql failed ({url_key}): {statement}\n{r.stderr}"
    return r


def sql_refused(env, statement, url_key="DATABASE_URL"):
    r = _psql(env, statement, url_key)
    assert r.returncode != 0, f"the database accepted ({url_key}): {statement}"
    return r


def scalar(env, statement, url_key="DATABASE_URL"):
    return sql(env, statement, url_key).stdout.strip()
