"""The reveal and duplicate-check allowances are per account, not per process (docs/security.md §2): two console
instances — one here, one in another process — on the same database file draw from one bucket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from console.app import create_app
from console.config import Settings
from console.security import throttle
from console.store import Person, make_engine, make_session_factory
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings

ROOT = Path(__file__).resolve().parents[1]
CODE = Path(create_app.__code__.co_filename).resolve().parents[1]  # the console this process runs, for the other
LIMIT = 4  # reveals per account and minute

OTHER_PROCESS = textwrap.dedent("""
    import json, sys
    from console.app import create_app
    from console.config import Settings
    from tests.security_login import ORIGIN, login_client, security_settings

    db, person, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings(unmask_per_minute=%d))
    c = app.server.test_client()
    csrf = login_client(c, "town_user")
    print(json.dumps([c.post("/api/unmask", json={"kind": "person", "id": person, "field": "id_number"},
                             headers={"Origin": ORIGIN, "X-CSRFToken": csrf}).status_code for _ in range(n)]))
""" % LIMIT)


@pytest.fixture()
def shared_db(tmp_path):
    path = build(tmp_path / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    with make_session_factory(engine)() as s:
        person = s.scalars(select(Person).order_by(Person.id)).first()
        pid, town = person.id, person.town_code
    engine.dispose()
    add_account(path, "town_user", ["town"], [town])
    yield path, pid
    throttle.configure({})


def _reveal_codes(client, csrf, pid, n):
    return [client.post("/api/unmask", json={"kind": "person", "id": pid, "field": "id_number"},
                        headers={"Origin": ORIGIN, "X-CSRFToken": csrf}).status_code for _ in range(n)]


def test_two_instances_on_one_database_share_the_reveal_limit(shared_db):
    path, pid = shared_db
    here = create_app(path, settings=Settings(warm_cache=False),
                      security_settings=security_settings(unmask_per_minute=LIMIT))
    client = here.server.test_client()
    csrf = login_client(client, "town_user")
    assert _reveal_codes(client, csrf, pid, 1) == [200]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(CODE), str(ROOT), str(ROOT / "tests")])}
    run = subprocess.run([sys.executable, "-c", OTHER_PROCESS, path, str(pid), str(LIMIT)], capture_output=True,
                         text=True, timeout=300, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    there = json.loads(run.stdout.strip().splitlines()[-1])
    mine = _reveal_codes(client, csrf, pid, LIMIT)
    granted = [1] + [c for c in there + mine if c == 200]
    # one allowance for the account: LIMIT in all (plus at most one token refilled while the other process started)
    assert there.count(200) <= LIMIT - 1 and len(granted) <= LIMIT + 1, (there, mine)
    assert 429 in there + mine and mine[-1] == 429


def test_a_second_instance_alerts_once_for_the_burst(shared_db):
    """The burst alert for the security administrator is once per account and minute across instances too."""
    import sqlite3

    path, pid = shared_db
    apps = [create_app(path, settings=Settings(warm_cache=False),
                       security_settings=security_settings(unmask_per_minute=LIMIT)) for _ in range(2)]
    clients = []
    for app in apps:
        c = app.server.test_client()
        clients.append((c, login_client(c, "town_user")))
    codes = [code for _ in range(3) for c, csrf in clients for code in _reveal_codes(c, csrf, pid, 1)]
    assert codes.count(200) == LIMIT and codes[-1] == 429
    con = sqlite3.connect(path)
    try:
        alerts = con.execute("select count(*) from audit_log where actor='town_user' and action='security.alert'")
        assert alerts.fetchone()[0] == 1
    finally:
        con.close()
