"""派单 from the duty desk to a grid worker's phone and back (docs/field.md §6), over HTTP: the roster is the alert
grid's workers, the task reaches only its worker, each step (accept, handle, report with text and location) is
kept and the duty desk sees every state; the alert itself moves to 已派单 in the same transaction."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest

from console.app import create_app
from console.config import Settings
from console.store import Alert, make_engine, make_session_factory
from console.store.duty_models import AlertInfo
from tests.browser.tinyworld import build
from sectest import worker_name
from tests.security_login import ORIGIN, add_account, login_client, security_settings

GRID = "610924100200001"
OTHER_GRID = "610924101200001"
NOW = datetime(2026, 11, 26, 8, 0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("tasks") / "tiny.sqlite")
    add_account(path, "worker_a", ["grid_worker"], [GRID])
    add_account(path, "worker_b", ["grid_worker"], [GRID])
    add_account(path, "worker_far", ["grid_worker"], [OTHER_GRID])
    add_account(path, "duty1", ["duty_officer"], ["610900"])
    engine = make_engine(path, must_exist=True)
    with make_session_factory(engine)() as s:
        alert = Alert(rule="r", kind="dispute", severity="high", state="new", title="村口纠纷升级", raised_at=NOW,
                      updated_at=NOW, lon=108.5, lat=32.5, county_code=GRID[:6], town_code=GRID[:9],
                      village_code=GRID[:12], grid_code=GRID)
        second = Alert(rule="r", kind="safety", severity="low", state="new", title="桥梁护栏松动", raised_at=NOW,
                       updated_at=NOW, county_code=GRID[:6], town_code=GRID[:9], village_code=GRID[:12], grid_code=GRID)
        s.add_all([alert, second])
        s.flush()
        s.add_all([AlertInfo(alert_id=alert.id), AlertInfo(alert_id=second.id)])
        s.commit()
        alert_id, second_id = alert.id, second.id
    engine.dispose()
    return path, alert_id, second_id


@pytest.fixture(scope="module")
def app(world):
    return create_app(world[0], settings=Settings(warm_cache=False), security_settings=security_settings())


def _client(app, user):
    client = app.server.test_client()
    token = login_client(client, user)
    return client, {"X-CSRFToken": token, "Origin": ORIGIN, "X-Field-App": "3"}


def test_a_task_round_trip_duty_desk_phone_duty_desk(world, app):
    db, alert_id, _ = world
    duty, dh = _client(app, "duty1")
    roster = duty.get(f"/api/duty/roster?alert_id={alert_id}").json
    assert [w["username"] for w in roster["workers"]] == ["worker_a", "worker_b"]  # not the other grid's worker
    assert [w["name"] for w in roster["workers"]] == [worker_name("worker_a"), worker_name("worker_b")]
    far = duty.post("/api/duty/tasks", json={"alert_id": alert_id, "assignee": "worker_far", "note": "去看看"},
                    headers=dh)
    assert far.status_code == 422 and "worker_far" in far.json["error"] and GRID in far.json["error"]
    sent = duty.post("/api/duty/tasks", json={"alert_id": alert_id, "assignee": "worker_a", "note": "请 30 分钟内到场"},
                     headers=dh)
    assert sent.status_code == 201 and sent.json["state_label"] == "已派单"
    task_id = sent.json["id"]
    con = sqlite3.connect(db)
    assert con.execute("select state from alert where id=?", (alert_id,)).fetchone() == ("dispatched",)
    assert con.execute("select assignee from alert_info where alert_id=?", (alert_id,)).fetchone() == ("worker_a",)
    con.close()

    a, ah = _client(app, "worker_a")
    b, bh = _client(app, "worker_b")
    assert [t["id"] for t in a.get("/api/field/tasks").json["tasks"]] == [task_id]
    assert b.get("/api/field/tasks").json["tasks"] == []  # only its worker sees it
    assert b.post(f"/api/field/tasks/{task_id}", json={"action": "accept"}, headers=bh).status_code == 404
    early = a.post(f"/api/field/tasks/{task_id}", json={"action": "report", "text": ""}, headers=ah)
    assert early.status_code == 409 and "已派单" in early.json["error"]
    assert a.post(f"/api/field/tasks/{task_id}", json={"action": "accept"}, headers=ah).json["state"] == "accepted"
    assert a.post(f"/api/field/tasks/{task_id}", json={"action": "handle"}, headers=ah).json["state"] == "handling"
    no_text = a.post(f"/api/field/tasks/{task_id}", json={"action": "report"}, headers=ah)
    assert no_text.status_code == 400 and "处置情况" in no_text.json["error"]
    done = a.post(f"/api/field/tasks/{task_id}", headers=ah, json={
        "action": "report", "text": "双方已调解，签订协议", "location": {"lon": 108.5, "lat": 32.5, "accuracy": 12,
                                                                     "source": "gps"}})
    assert done.status_code == 200 and done.json["state_label"] == "已回报"

    seen = duty.get(f"/api/duty/tasks?alert_id={alert_id}").json["tasks"]
    assert len(seen) == 1 and seen[0]["report"] == "双方已调解，签订协议"
    assert [st["to_state"] for st in seen[0]["steps"]] == ["已派单", "已接单", "处置中", "已回报"]
    assert seen[0]["steps"][-1]["accuracy_m"] == 12
    # a worker cannot dispatch, and the duty desk's routes need alert:act
    assert a.post("/api/duty/tasks", json={"alert_id": alert_id, "assignee": "worker_b"}, headers=ah).status_code == 403


def test_the_duty_page_dispatches_to_a_phone_and_shows_its_state(world, app):
    from console.duty.actions import ACTIONS
    from tests.test_admin_pages import call

    db, _, alert_id = world
    duty, dh = _client(app, "duty1")
    csrf = dh["X-CSRFToken"]
    status, resp = call(duty, csrf, [("duty-acted", "data"), ("duty-message", "children"), ("duty-note", "value")],
                        [(f"duty-act-{k}", "n_clicks", 1 if k == "dispatch" else None) for k in ACTIONS],
                        [("duty-selected", "data", alert_id), ("duty-assignee", "value", "worker_b"),
                         ("duty-note", "value", "请核实护栏"), ("duty-acted", "data", 0)],
                        trigger="duty-act-dispatch.n_clicks")
    assert status == 200 and resp["duty-message"]["children"] == ""
    con = sqlite3.connect(db)
    assert con.execute("select assignee, state, note from field_task where alert_id=?", (alert_id,)).fetchall() == [
        ("worker_b", "assigned", "请核实护栏")]
    assert con.execute("select state from alert where id=?", (alert_id,)).fetchone() == ("dispatched",)
    con.close()
    b, bh = _client(app, "worker_b")
    task_id = b.get("/api/field/tasks").json["tasks"][0]["id"]
    assert b.post(f"/api/field/tasks/{task_id}", json={"action": "accept"}, headers=bh).status_code == 200
    status, resp = call(duty, csrf, [("duty-detail", "children"), ("duty-map-grids", "data"),
                                     ("duty-map-cameras", "data"), *[(f"duty-act-{k}", "disabled") for k in ACTIONS],
                                     ("duty-assignee", "options"), ("duty-assignee", "value")],
                        [("duty-selected", "data", alert_id), ("duty-acted", "data", 1)])
    text = json.dumps(resp, ensure_ascii=False)
    assert status == 200 and "手机任务" in text and f"{worker_name('worker_b')}：已接单" in text
    assert "worker_b：" not in text  # the task list names the worker, not the login
    # 派往 is a choice from the alert grid's roster (names, masked phones), the nearest on duty first
    options = resp["duty-assignee"]["options"]
    assert [o["value"] for o in options] == ["worker_a", "worker_b"] and "worker_far" not in text
    assert options[0]["label"].startswith(f"{worker_name('worker_a')} · 电话未登记")
    assert not any(o["value"] in o["label"] for o in options) and resp["duty-assignee"]["value"] == "worker_a"
    # a value the page never offers (another grid's worker, a department typed in): 400 naming the grid, nothing kept
    for forged in ("worker_far", "城关派出所"):
        r = _dash(duty, csrf, alert_id, forged, "转派")
        assert r.status_code == 400 and f"派往对象「{forged}」不是该预警所在网格（{GRID}）的网格员" in r.get_json()["error"]
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from field_task where alert_id=?", (alert_id,)).fetchone() == (1,)
    assert con.execute("select assignee from alert_info where alert_id=?", (alert_id,)).fetchone() == ("worker_b",)
    con.close()


def _dash(client, csrf, alert_id, assignee, note):
    """The duty page's 派单 callback as a raw request (to read a refusal's body)."""
    from console.duty.actions import ACTIONS

    outputs = [("duty-acted", "data"), ("duty-message", "children"), ("duty-note", "value")]
    body = {"output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outputs],
            "inputs": [{"id": f"duty-act-{k}", "property": "n_clicks", "value": 1 if k == "dispatch" else None}
                       for k in ACTIONS],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in (
                ("duty-selected", "data", alert_id), ("duty-assignee", "value", assignee), ("duty-note", "value", note),
                ("duty-acted", "data", 1))],
            "changedPropIds": ["duty-act-dispatch.n_clicks"]}
    return client.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})


def _new_alert(db, title: str) -> int:
    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        alert = Alert(rule="r", kind="safety", severity="medium", state="new", title=title, raised_at=NOW,
                      updated_at=NOW, lon=108.5, lat=32.5, county_code=GRID[:6], town_code=GRID[:9],
                      village_code=GRID[:12], grid_code=GRID)
        s.add(alert)
        s.flush()
        s.add(AlertInfo(alert_id=alert.id))
        s.commit()
        alert_id = alert.id
    engine.dispose()
    return alert_id


def _step(task_id: int, action: str, seen: str, text: str = "", uuid: str | None = None) -> dict:
    import uuid as uuidlib

    return {"uuid": uuid or str(uuidlib.uuid4()), "op_id": str(uuidlib.uuid4()), "kind": "task", "base_version": 0,
            "grid_code": GRID, "client_time": "2026-11-26T08:10:00Z", "household_id": None,
            "location": {"lon": 108.5, "lat": 32.5, "accuracy": 15, "source": "gps"},
            "fields": {"task_id": task_id, "action": action, "seen_state": seen, "text": text}}


def test_task_steps_taken_offline_replay_once_and_a_reassigned_task_becomes_a_conflict(world, app):
    """Steps queued on the phone (accept + report) arrive in one batch and apply in order; the batch sent again
    stores nothing; a step on a task the duty desk reassigned meanwhile changes nothing and is kept for the
    supervisor, who cannot 'take the phone's version' of a task."""
    db = world[0]
    add_account(db, "village_sup", ["village"], [GRID[:12]])
    duty, dh = _client(app, "duty1")
    a, ah = _client(app, "worker_a")
    first = _new_alert(db, "路灯损坏")
    task_id = duty.post("/api/duty/tasks", json={"alert_id": first, "assignee": "worker_a", "note": "请核实"},
                        headers=dh).json["id"]
    batch = {"sent_at": "2026-11-26T09:00:00Z", "records": [
        _step(task_id, "accept", "assigned"), _step(task_id, "report", "accepted", "已更换灯泡")]}
    for _ in range(2):  # the answer lost on the way: sent again
        r = a.post("/api/field/sync", json=batch, headers=ah)
        assert r.status_code == 200
        assert [x["status"] for x in r.json["results"]] in (["created", "created"], ["duplicate", "duplicate"])
    con = sqlite3.connect(db)
    assert con.execute("select state, report from field_task where id=?", (task_id,)).fetchone() == (
        "reported", "已更换灯泡")
    assert con.execute("select action, actor from field_task_step where task_id=? order by id", (task_id,)).fetchall() \
        == [("dispatch", "duty1"), ("accept", "worker_a"), ("report", "worker_a")]
    con.close()
    seen = duty.get(f"/api/duty/tasks?alert_id={first}").json["tasks"][0]
    assert [st["to_state"] for st in seen["steps"]] == ["已派单", "已接单", "已回报"]

    # the duty desk reassigns while worker_a is offline with an accept queued
    second = _new_alert(db, "河堤裂缝")
    old = duty.post("/api/duty/tasks", json={"alert_id": second, "assignee": "worker_a", "note": "去看看"},
                    headers=dh).json["id"]
    assert duty.post("/api/duty/tasks", json={"alert_id": second, "assignee": "worker_b", "note": "改派"},
                     headers=dh).status_code == 201
    late = {"sent_at": "2026-11-26T09:05:00Z", "records": [_step(old, "accept", "assigned"),
                                                           _step(old, "report", "accepted", "已到场，裂缝约两米")]}
    for _ in range(2):
        r = a.post("/api/field/sync", json=late, headers=ah)
        assert [x["status"] for x in r.json["results"]] == ["conflict", "conflict"]
        assert "已提交主管处理" in r.json["results"][0]["error"]
    con = sqlite3.connect(db)
    assert con.execute("select state from field_task where id=?", (old,)).fetchone() == ("reassigned",)
    assert con.execute("select count(*) from field_task_step where task_id=? and actor='worker_a'",
                       (old,)).fetchone() == (0,)
    assert con.execute("select count(*) from field_conflict where status='open'").fetchone() == (2,)
    con.close()
    sup, sh = _client(app, "village_sup")
    kept = [c for c in sup.get("/api/field/conflicts").json["conflicts"] if c["kind"] == "task"]
    assert len(kept) == 2 and kept[1]["phone"]["fields"]["text"] == "已到场，裂缝约两米"
    assert kept[0]["server"]["state_label"] == "已改派" and kept[0]["server"]["assignee"] == "worker_a"
    taken = sup.post(f"/api/field/conflicts/{kept[0]['id']}", json={"decision": "take_phone"}, headers=sh)
    assert taken.status_code == 409 and "值班台" in taken.json["error"]
    assert sup.post(f"/api/field/conflicts/{kept[0]['id']}", json={"decision": "keep_server"},
                    headers=sh).status_code == 200
    # steps that never fit: a task of another worker (404), a report without text, a step from the wrong state
    b, bh = _client(app, "worker_b")
    wrong = b.post("/api/field/sync", headers=bh, json={"sent_at": "2026-11-26T09:05:00Z", "records": [
        _step(task_id, "accept", "assigned"), _step(old, "report", "accepted", ""),
        _step(old, "handle", "assigned")]}).json["results"]
    assert [(x["status"], x["code"]) for x in wrong] == [("rejected", "task_unknown"), ("rejected", "task_unknown"),
                                                         ("rejected", "task_unknown")]
    new_task = [t for t in b.get("/api/field/tasks").json["tasks"] if t["alert_id"] == second][0]
    wrong = b.post("/api/field/sync", headers=bh, json={"sent_at": "2026-11-26T09:05:00Z", "records": [
        _step(new_task["id"], "report", "accepted", ""), _step(new_task["id"], "handle", "assigned")]}).json["results"]
    assert wrong[0]["status"] == "rejected" and "处置情况" in wrong[0]["error"]
    assert wrong[1]["status"] == "rejected" and "已派单" in wrong[1]["error"] and "开始处置" in wrong[1]["error"]
