"""派单 suggests the alert grid's workers nearest on duty first; deadlines come from the rules' task-deadline table
by alert type; a task past its deadline escalates to the duty desk once (docs/field.md §6)."""

from __future__ import annotations

import sqlite3
import uuid as uuidlib
from datetime import datetime, timedelta

import pytest

from console.app import create_app
from console.config import Settings
from console.duty import rules
from console.duty.task_sweep import task_sweep
from console.field import roster
from console.store import Alert, Grid, make_engine, make_session_factory
from console.store.duty_models import AlertInfo
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings
from sectest import worker_name

# The escalation test reads the tasks the deadline test sent: one worker for the module (`--dist loadfile`, Makefile).
pytestmark = pytest.mark.xdist_group("field-roster")

GRID = "610924100200001"
NOW = datetime(2026, 11, 26, 8, 0)  # the test clock (tests/sectest.py)
WORKERS = ("w_patrol_far", "w_fix_near", "w_idle", "w_coarse", "w_stopped")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("roster") / "tiny.sqlite")
    for name in WORKERS:
        add_account(path, name, ["grid_worker"], [GRID])
    add_account(path, "duty1", ["duty_officer"], ["610900"])
    engine = make_engine(path, must_exist=True)
    with make_session_factory(engine)() as s:
        g = s.query(Grid).filter(Grid.code == GRID, Grid.generation_high.is_(None)).one()
        lon, lat = g.label_lon, g.label_lat
        ids = []
        for rule, severity in (("missing_person", "low"), ("unheard_of", "high"), ("unheard_of", "weird")):
            a = Alert(rule=rule, kind=rule, severity=severity, state="new", title=f"测试预警 {rule}", raised_at=NOW,
                      updated_at=NOW, lon=lon, lat=lat, county_code=GRID[:6], town_code=GRID[:9],
                      village_code=GRID[:12], grid_code=GRID)
            s.add(a)
            s.flush()
            s.add(AlertInfo(alert_id=a.id))
            ids.append(a.id)
        s.commit()
    engine.dispose()
    return path, ids, (lon, lat)


@pytest.fixture(scope="module")
def app(world):
    return create_app(world[0], settings=Settings(warm_cache=False), security_settings=security_settings())


def _client(app, user):
    client = app.server.test_client()
    token = login_client(client, user)
    return client, {"X-CSRFToken": token, "Origin": ORIGIN, "X-Field-App": "3"}


def _sync(app, user, *records):
    client, headers = _client(app, user)
    r = client.post("/api/field/sync", json={"sent_at": "2026-11-26T08:00:00Z", "records": list(records)},
                    headers=headers)
    assert r.status_code == 200 and all(x["status"] == "created" for x in r.json["results"]), r.json
    return r.json


def _rec(kind, fields, location=None, client_time="2026-11-26T07:55:00Z"):
    return {"uuid": str(uuidlib.uuid4()), "op_id": str(uuidlib.uuid4()), "kind": kind, "base_version": 0,
            "grid_code": GRID, "client_time": client_time, "location": location, "fields": fields}


def test_ranking_is_on_duty_then_nearest_then_least_busy():
    rows = [{"username": u, "name": u, "open_tasks": n} for u, n in (("a", 0), ("b", 3), ("c", 1), ("d", 0))]
    where = {"b": {"why": "巡查中", "lon": 108.50, "lat": 32.50}, "c": {"why": "x", "lon": 108.60, "lat": 32.50},
             "d": {"why": "巡查中", "lon": None, "lat": None}}
    out = roster.ranked(rows, where, (108.501, 32.50))
    assert [w["username"] for w in out] == ["b", "c", "d", "a"]
    assert out[0]["distance_m"] < 200 and out[1]["distance_m"] > 9000 and out[3]["on_duty"] is False
    assert "在岗" in roster.label(out[0]) and "米" in roster.label(out[0]) and "不在岗" in roster.label(out[3])


def test_the_roster_puts_the_nearest_worker_on_duty_first(world, app):
    _, (alert_id, *_), (lon, lat) = world
    gps = lambda dx, acc: {"lon": lon + dx, "lat": lat, "accuracy": acc, "source": "gps"}
    # on a patrol, last seen ~3 km away
    _sync(app, "w_patrol_far", _rec("patrol", {"started_at": "2026-11-26T07:00:00Z", "fixes": [
        {"lon": lon + 0.03, "lat": lat, "accuracy": 10, "t": "2026-11-26T07:50:00Z"}]}))
    # reported an event 5 minutes ago with a fine fix ~100 m away
    _sync(app, "w_fix_near", _rec("event", {"type": "safety", "text": "路灯不亮"}, gps(0.001, 8)))
    # a 3,000 m fix does not count as a position
    _sync(app, "w_coarse", _rec("event", {"type": "safety", "text": "井盖缺失"}, gps(0.0, 3000)))
    # a patrol already stopped
    _sync(app, "w_stopped", _rec("patrol", {"started_at": "2026-11-26T06:00:00Z", "ended_at": "2026-11-26T07:00:00Z",
                                            "fixes": [{"lon": lon, "lat": lat, "accuracy": 5,
                                                       "t": "2026-11-26T06:30:00Z"}]}))
    duty, _ = _client(app, "duty1")
    got = duty.get(f"/api/duty/roster?alert_id={alert_id}").json["workers"]
    assert [w["username"] for w in got][:2] == ["w_fix_near", "w_patrol_far"]
    by = {w["username"]: w for w in got}
    assert by["w_fix_near"]["distance_m"] < 200 and 2000 < by["w_patrol_far"]["distance_m"] < 4000
    assert by["w_patrol_far"]["duty_reason"] == "巡查中"
    assert not any(by[u]["on_duty"] for u in ("w_idle", "w_coarse", "w_stopped"))


def test_deadlines_come_from_the_rules_table_by_alert_type(world, app):
    _, (missing, unknown_high, unknown_weird), _ = world
    config = rules.load_config()
    duty, dh = _client(app, "duty1")
    due = {}
    for alert_id in (missing, unknown_high, unknown_weird):
        r = duty.post("/api/duty/tasks", json={"alert_id": alert_id, "assignee": "w_idle", "note": "请处理"}, headers=dh)
        assert r.status_code == 201, r.json
        due[alert_id] = datetime.fromisoformat(r.json["due_at"]) - NOW
    assert due[missing] == timedelta(hours=config["task_deadline"]["by_rule"]["missing_person"]) == timedelta(hours=1)
    assert due[unknown_high] == timedelta(hours=config["task_deadline"]["by_severity"]["high"])
    assert due[unknown_weird] == timedelta(hours=config["task_deadline"]["default"])


def test_an_overdue_task_escalates_to_the_duty_desk_once(world, app):
    db, (missing, *_), _ = world
    config = rules.load_config()
    engine = make_engine(db, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        assert task_sweep(s, config, NOW) == []  # nothing is late yet
    later = NOW + timedelta(minutes=90)  # the missing-person task (1 h) is late, the others (2 h, 24 h) not
    with factory() as s, s.begin():
        raised = task_sweep(s, config, later)
    with factory() as s, s.begin():
        assert task_sweep(s, config, later + timedelta(minutes=1)) == []  # once per task
    engine.dispose()
    assert len(raised) == 1
    con = sqlite3.connect(db)
    rule, title, grid = con.execute("select rule, title, grid_code from alert where id=?", (raised[0],)).fetchone()
    con.close()
    assert rule == "task_overdue" and f"（{worker_name('w_idle')}）" in title and "w_idle" not in title and grid == GRID
    duty, _ = _client(app, "duty1")
    task = duty.get(f"/api/duty/tasks?alert_id={missing}").json["tasks"][0]
    assert task["steps"][-1]["action"] == "escalate" and task["steps"][-1]["action_label"] == "超期上报"


def test_the_roster_reads_names_and_masked_phones_never_account_codes(world):
    """What the duty desk's 派往 choices show: the worker's name and the phone from the grid's roster of workers
    (`grid_worker`, matched by name), masked; a worker without a registered phone says so."""
    from console.store import GridWorker

    path = world[0]
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        s.add(GridWorker(grid_code=GRID, role="worker", name=worker_name(WORKERS[0]), phone="13912345678"))
        s.commit()
    with factory() as s:
        rows = {w["username"]: w for w in roster.roster(s, GRID)}
    engine.dispose()
    names = {u: w["name"] for u, w in rows.items()}
    assert names == {u: worker_name(u) for u in WORKERS} and len(set(names.values())) == len(WORKERS)
    first = rows[WORKERS[0]]
    assert first["phone"] == "139****5678" and "13912345678" not in str(rows)
    label = roster.label(first)
    assert label.startswith(f"{worker_name(WORKERS[0])} · 139****5678 · ") and WORKERS[0] not in label
    assert roster.label(rows[WORKERS[1]]).split(" · ")[1] == "电话未登记"
