"""The wall reads a real streaming replica (tests/pg.py: pg_basebackup -R, hot standby) and says how current its
figures are (docs/deploy.md § Replica and 数据截至): caught up → now; replay paused behind the primary → the
time of the last replayed transaction, from the replica's own pg_last_xact_replay_timestamp(); further behind
than the limit, or the replica down → the primary, with a note. Plus the pure decision in `replica.judge`."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest

from console.services import replica
from console.services.clock import beijing
from console.services.replica import judge

NOW = datetime(2026, 11, 26, 8, 0, 0)


def test_judge_current_lagging_too_far_and_promoted():
    assert judge(True, NOW, NOW - timedelta(hours=3), True, "streaming", 60) == replica.ReadState("replica", None)
    lagging = judge(True, NOW, NOW - timedelta(seconds=20), False, "streaming", 60)
    assert lagging.source == "replica" and lagging.as_of == NOW - timedelta(seconds=20) and lagging.lag_s == 20
    assert "20 秒" in lagging.note()
    far = judge(True, NOW, NOW - timedelta(seconds=61), False, "streaming", 60)
    assert far.source == "primary" and far.as_of is None and "改读主库" in far.note()
    # caught up with what it received, but no longer receiving: its age is the last replayed transaction's
    stale = judge(True, NOW, NOW - timedelta(seconds=5), True, None, 60)
    assert stale.source == "replica" and stale.as_of == NOW - timedelta(seconds=5)
    unknown = judge(True, NOW, None, False, "streaming", 60)  # nothing replayed since it started
    assert unknown.source == "primary" and "改读主库" in unknown.note()  # said in words (was a 500: round(inf))
    assert judge(False, NOW, None, False, None, 60) == replica.ReadState("replica", None)  # promoted: current
    assert replica.as_of_time(replica.PRIMARY, NOW) == NOW


psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def pair():
    """A primary with the tiny world and a streaming replica of it (own clusters: the base backup stays small)."""
    from tests.browser.tinyworld import build
    from tests.pg import Unavailable, remove_cluster, start_cluster, start_replica
    from tests.security_login import add_account

    try:
        primary = start_cluster()
    except Unavailable as exc:
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        url = primary.create_database("wall")
        build(url)
        add_account(url, "wall_screen", ["wall_display"], ["610900"])
        standby = start_replica(primary)
    except BaseException:
        remove_cluster(primary)
        raise
    yield primary, standby, url
    remove_cluster(standby)
    remove_cluster(primary)


def _new_alert(primary, title: str) -> None:
    with primary.connect("wall", autocommit=True) as conn:
        conn.execute("INSERT INTO alert (rule, kind, severity, state, title, raised_at, updated_at, county_code)"
                     " VALUES ('test', 'grid_report', 'high', 'new', %s, now() AT TIME ZONE 'UTC',"
                     " now() AT TIME ZONE 'UTC', '610924')", (title,))


def _replica_row(standby):
    with standby.connect("wall", autocommit=True) as conn:
        return conn.execute(replica.LAG_SQL).fetchone()


def _caught_up(standby, primary, timeout: float = 30) -> None:
    """Replayed everything the primary had written when asked: "received == replayed" alone is true before the
    WAL of the last write arrives (the test clusters commit asynchronously: the commit record may still sit in the
    primary's WAL buffers — hence the insert position, not the written one)."""
    with primary.connect("wall", autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _replica_row(standby)
        with standby.connect("wall", autocommit=True) as conn:
            done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)).fetchone()[0]
        if done and row[3] and row[4] == "streaming":
            return
        time.sleep(0.2)
    raise AssertionError(f"replica did not catch up: {row}")


def _banner(app, reader) -> dict:
    from tests.security_login import login_client
    from tests.test_security_leaks import callback_key, post_callback

    reader._checked = float("-inf")  # read the replica's state now, not the one cached for a few seconds
    c = app.server.test_client()
    csrf = login_client(c, "wall_screen")
    r = post_callback(c, csrf, callback_key(app, "hall.refresh_banner"), [
        {"id": "hall-banner-tick", "property": "n_intervals", "value": 1}])
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    text = json.dumps(r.get_json(), ensure_ascii=False)
    found = {}
    for key in ("hall-unack", "hall-as-of", "hall-as-of-note"):
        at = text.find(f'"id": "{key}"')
        found[key] = None
        if at >= 0:
            start = text.rfind('"children": "', 0, at)
            found[key] = text[start + 13:text.find('"', start + 13)]
    return found


def test_the_wall_reads_the_replica_and_says_how_current_it_is(pair):
    from console.app import create_app
    from console.config import Settings
    from console.services.context import CONTEXT_KEY
    from tests.security_login import security_settings

    primary, standby, url = pair
    replica_url = standby.url("wall")
    app = create_app(url, settings=Settings(warm_cache=False, replica_url=replica_url, replica_max_lag_s=600),
                     security_settings=security_settings())
    reader = app.server.config[CONTEXT_KEY].wall_reader
    _new_alert(primary, "第一条")
    _caught_up(standby, primary)
    current = _banner(app, reader)
    assert reader.state() == replica.ReadState("replica", None)  # caught up and streaming
    assert current["hall-as-of-note"] is None
    assert abs((datetime.strptime(current["hall-as-of"], "%H:%M:%S") -
                datetime.strptime(beijing(datetime.utcnow(), "%H:%M:%S"), "%H:%M:%S")).total_seconds()) < 5
    seen = int(current["hall-unack"])

    with standby.connect("wall", autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    time.sleep(2.5)  # the last replayed transaction ages
    _new_alert(primary, "第二条")  # on the primary only: the paused replica receives but does not apply it
    deadline = time.monotonic() + 20
    while _replica_row(standby)[3] and time.monotonic() < deadline:
        time.sleep(0.2)
    replayed = _replica_row(standby)[2]
    behind = _banner(app, reader)
    assert int(behind["hall-unack"]) == seen  # the replica's figure, without the second alert
    assert behind["hall-as-of"] == beijing(replica._naive_utc(replayed), "%H:%M:%S")  # honest: as of the replay
    assert behind["hall-as-of-note"].startswith("备库延迟约")

    reader.max_lag_s = 1.0  # now beyond the limit: the primary, current
    fallback = _banner(app, reader)
    assert int(fallback["hall-unack"]) == seen + 1 and "已改读主库" in fallback["hall-as-of-note"]

    reader.max_lag_s = 600
    with standby.connect("wall", autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    _caught_up(standby, primary)
    assert int(_banner(app, reader)["hall-unack"]) == seen + 1  # back on the replica, caught up

    standby.stop()  # the replica is down: the wall still answers, from the primary, and says so
    try:
        down = _banner(app, reader)
        assert int(down["hall-unack"]) == seen + 1 and down["hall-as-of-note"] == "备库不可用，已改读主库"
    finally:
        standby.serve()
    reader.engine.dispose()
