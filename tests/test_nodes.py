"""Two console nodes on one PostgreSQL (docs/deploy.md): each a separate process serving HTTP. A session opened
on one node carries on through the other after the first is killed; a boundary change announced by any node
(NOTIFY) drops every node's caches; one duty sweeper among all nodes through an advisory lock."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from console.store import make_engine
from tests.console_process import local_port

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install -e '.[test]'")
pytestmark = pytest.mark.xdist_group("postgres")

ROOT = Path(__file__).resolve().parents[1]
NODE = textwrap.dedent("""
    import sys
    from werkzeug.serving import make_server
    from console.app import create_app
    from console.config import Settings
    from tests.security_login import security_settings

    url, port = sys.argv[1], int(sys.argv[2])
    app = create_app(url, settings=Settings(warm_cache=False), security_settings=security_settings())
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    print("ready", flush=True)
    server.serve_forever()
""")


class Node:
    def __init__(self, url: str):
        self.port = local_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
        self.proc = subprocess.Popen([sys.executable, "-c", NODE, url, str(self.port)], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise AssertionError(f"node did not start: {self.proc.stderr.read()[-3000:]}")
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def shared(postgres):
    from tests.browser.tinyworld import build
    from tests.security_login import add_account

    url = postgres.create_database("nodes")
    build(url)
    add_account(url, "city_user")
    nodes = [Node(url), Node(url)]
    yield url, nodes
    for node in nodes:
        node.stop()


def _login(http: requests.Session, node: Node) -> str:
    page = http.get(f"{node.base}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    from tests.security_login import PASSWORD

    r = http.post(f"{node.base}/login", data={"username": "city_user", "password": PASSWORD, "csrf_token": token},
                  headers={"Origin": node.base}, allow_redirects=False)
    assert r.status_code in (302, 303), re.findall(r"class=\"(?:err|error|msg)[^>]*>([^<]*)", r.text) or r.text[-1500:]
    return token


def _village(url: str) -> tuple[str, str]:
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT village_code, code FROM grid WHERE generation_high IS NULL"
                                " ORDER BY code LIMIT 1")).one()
    engine.dispose()
    return row[0], row[1]


def _grid_names(http, node, village) -> set[str]:
    r = http.get(f"{node.base}/api/layers/areas.geojson", params={"area": village}, allow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return {f["properties"].get("name") for f in r.json()["features"]}


def test_a_boundary_change_on_one_node_drops_the_caches_of_the_others(shared):
    from console.app import create_app
    from console.config import Settings
    from console.services import views
    from console.services.context import CONTEXT_KEY
    from tests.security_login import security_settings

    url, (a, b) = shared
    village, grid = _village(url)
    http = requests.Session()
    _login(http, b)
    before = _grid_names(http, b, village)
    engine = make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:  # what a planner commit does to a grid, written behind the nodes' backs
        conn.execute(text("UPDATE grid SET name = '新划网格' WHERE code = :c AND generation_high IS NULL"),
                     {"c": grid})
    engine.dispose()
    assert _grid_names(http, b, village) == before  # node b serves its cache
    third = create_app(url, settings=Settings(warm_cache=False), security_settings=security_settings())
    ctx = third.server.config[CONTEXT_KEY]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        views.boundaries_changed(ctx)  # the planner's commit on a third node
        if "新划网格" in _grid_names(http, b, village):
            break
        time.sleep(0.5)
    assert "新划网格" in _grid_names(http, b, village)


def test_a_session_survives_the_node_it_was_opened_on(shared):
    url, (a, b) = shared
    village, _ = _village(url)
    http = requests.Session()
    _login(http, a)
    assert _grid_names(http, a, village)
    a.proc.send_signal(signal.SIGKILL)  # mid-session: no logout, nothing flushed
    a.proc.wait(timeout=30)
    with pytest.raises(requests.ConnectionError):
        http.get(f"{a.base}/api/areas", timeout=5)
    assert _grid_names(http, b, village)  # same cookie, other node: no login page
    stranger = requests.Session()
    r = stranger.get(f"{b.base}/api/layers/areas.geojson", params={"area": village}, allow_redirects=False)
    assert r.status_code in (302, 401, 403)


def test_one_duty_sweeper_among_nodes_through_an_advisory_lock(shared):
    from console.duty.sweeper import SweepLock

    url, _ = shared
    engines = [make_engine(url), make_engine(url)]
    first, second = SweepLock(engines[0]), SweepLock(engines[1])
    first.ensure()
    got = threading.Event()
    threading.Thread(target=lambda: (second.ensure(), got.set()), daemon=True).start()
    assert not got.wait(2.0)  # the other node waits
    first._held.close()  # the sweeping node dies: its connection and so its lock are gone
    assert got.wait(20.0)
    second._held.close()
    for e in engines:
        e.dispose()


def test_postgresql_restarted_mid_ingest_loses_no_acknowledged_event(tmp_path):
    """The database crashes (pg_ctl stop -m immediate) and comes back while four clients post events: every event
    answered 2xx is stored, the writer reconnects by itself, and the events refused meanwhile are stored once when
    their sources retry them with the same event_id (docs/deploy.md § Faults)."""
    import json as _json
    from datetime import datetime, timezone

    from tests.browser.tinyworld import build
    from tests.duty_helpers import bare_app, make_source
    from tests.pg import Unavailable, remove_cluster, start_cluster

    try:  # durable: with synchronous_commit off (the tests' default) a crash loses acknowledged commits
        cluster = start_cluster(durable=True)
    except Unavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        url = cluster.create_database("restart")
        build(url)
        key, grid = make_source(url), _village(url)[1]
        app = bare_app(url)
        acked, refused, sent, lock, stop = {}, {}, {}, threading.Lock(), threading.Event()

        def body(eid: str) -> str:
            return _json.dumps({"event_id": eid, "type": "grid_report", "grid_code": grid,
                                "occurred_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})

        def client(n: int) -> None:
            c, i = app.test_client(), 0
            while not stop.is_set():
                eid, i = f"restart-{n}-{i}", i + 1
                sent[eid] = body(eid)
                r = c.post("/api/events", data=sent[eid], content_type="application/json", headers={"X-API-Key": key})
                with lock:
                    (acked if r.status_code in (200, 201) else refused)[eid] = (time.monotonic(), r.status_code)

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        down_at = time.monotonic()
        cluster.stop()  # immediate: a crash, no clean shutdown
        time.sleep(1.0)
        cluster.serve()
        up_at = time.monotonic()
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join(30)
        assert any(at < down_at for at, _ in acked.values()) and any(at > up_at for at, _ in acked.values())
        assert {code for _, code in refused.values()} <= {500, 503}, refused  # a refusal says: retry, never a 4xx
        c, deadline = app.test_client(), time.monotonic() + 60
        # the sources retry what was not acknowledged — the same event, byte for byte — until it is. A refused event
        # whose commit had landed before the connection broke is then answered as stored; a retry with a new
        # occurred_at would be a different event under the same id (409), as the API says
        for eid in refused:
            while True:
                r = c.post("/api/events", data=sent[eid], content_type="application/json", headers={"X-API-Key": key})
                if r.status_code in (200, 201) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert r.status_code in (200, 201), r.get_data(as_text=True)
        with cluster.connect("restart") as conn:
            rows = conn.execute("SELECT source_event_id FROM event WHERE source_event_id LIKE 'restart-%'").fetchall()
        stored = [r[0] for r in rows]
        assert len(stored) == len(set(stored))  # nothing twice
        assert set(stored) == set(acked) | set(refused)  # every acknowledged event, and every retried one
    finally:
        remove_cluster(cluster)
