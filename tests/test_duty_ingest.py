"""POST /api/events: validation with clear 4xx, idempotency, rules end to end, actions, feed, sweeps."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from console.duty import actions, feed
from console.duty.ingest import Ingestor, offline_sweep
import sectest as testing
from console.store import Alert, AreaScope, Camera, Event, make_engine, make_session_factory
from console.store.duty_models import AlertHistory

from duty_helpers import bare_app, make_source, samples, world_copy

NOW = "2026-11-26T09:00:00+08:00"
CLOCK = datetime(2026, 11, 26, 3, 0)  # the server's "now" (naive UTC) for the accepted window of event times


@pytest.fixture(scope="module")
def world(small_world_db, tmp_path_factory):
    db = world_copy(small_world_db, tmp_path_factory.mktemp("duty"))
    key = make_source(db)
    return {"db": db, "key": key, "ref": samples(db), "client": bare_app(db, clock=lambda: CLOCK).test_client()}


def post(world, body, key=None, raw=None, **headers):
    data = raw if raw is not None else json.dumps(body)
    return world["client"].post("/api/events", data=data, content_type="application/json",
                                headers={"X-API-Key": key or world["key"], **headers})


def count(world, model, *where):
    with make_session_factory(make_engine(world["db"]))() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def ev(eid, kind="grid_report", **kw):
    return {"event_id": eid, "type": kind, "occurred_at": NOW, **kw}


def test_geofence_exit_raises_one_alert_and_replay_is_idempotent(world):
    ref = world["ref"]
    body = ev("tag-1", "tag_position", person_id=ref["correction"],
              location={"lon": ref["away"][0], "lat": ref["away"][1]})
    first = post(world, body)
    assert first.status_code == 201, first.json
    assert len(first.json["alerts"]) == 1
    again = post(world, body)
    assert again.status_code == 200 and again.json == first.json and again.headers["Idempotent-Replay"] == "true"
    assert count(world, Event, Event.source_event_id == "tag-1") == 1
    assert count(world, Alert, Alert.event_id == first.json["id"]) == 1
    changed = dict(body, payload={"x": 1})
    assert post(world, changed).status_code == 409


def test_tag_just_outside_the_city_is_a_fence_exit_in_the_home_area(world):
    ref = world["ref"]
    r = post(world, ev("tag-3", "tag_position", person_id=ref["correction"], location={"lon": 107.9, "lat": 32.6}))
    assert r.status_code == 201 and len(r.json["alerts"]) == 1
    with make_session_factory(make_engine(world["db"]))() as s:
        assert s.get(Alert, r.json["alerts"][0]).county_code == ref["correction_county"]
    far = post(world, ev("tag-4", "tag_position", person_id=ref["correction"], location={"lon": 116.4, "lat": 39.9}))
    assert far.status_code == 422 and far.json["error"] == "outside_ankang"


def test_inside_home_county_raises_nothing(world):
    ref = world["ref"]
    r = post(world, ev("tag-2", "tag_position", person_id=ref["correction"],
                       location={"lon": ref["home"][0], "lat": ref["home"][1]}))
    assert r.status_code == 201 and r.json["alerts"] == []


def test_mental_and_dispute_and_overdue(world):
    ref = world["ref"]
    assert len(post(world, ev("m-1", "mental_incident", person_id=ref["mental"])).json["alerts"]) == 1
    big = post(world, ev("d-1", "dispute_report", grid_code=ref["grid"], payload={"scale": 12, "category": "labour"}))
    assert len(big.json["alerts"]) == 1
    late = {"case_code": "JF610924-1", "deadline": "2026-11-20T00:00:00"}
    assert len(post(world, ev("c-1", "case_update", grid_code=ref["grid"], payload=late)).json["alerts"]) == 1
    assert post(world, ev("c-2", "case_update", grid_code=ref["grid"], payload=late)).json["alerts"] == []


def test_repeated_reports_in_one_grid(world):
    ref = world["ref"]
    got = [post(world, ev(f"g-{i}", grid_code=ref["grid"])).json["alerts"] for i in range(5)]
    assert [len(a) for a in got] == [0, 0, 1, 0, 0]


def test_camera_heartbeat_offline_and_sweep(world):
    ref = world["ref"]
    on = post(world, ev("cam-1", "camera_heartbeat", camera_id=ref["camera"], payload={"status": "online"}))
    assert on.status_code == 201 and on.json["alerts"] == []
    off = post(world, ev("cam-2", "camera_heartbeat", camera_id=ref["camera"],
                         payload={"status": "offline", "offline_minutes": 50}))
    assert len(off.json["alerts"]) == 1
    engine = make_engine(world["db"])
    sessions = make_session_factory(engine)
    config = Ingestor.create(engine).config
    later = datetime(2026, 11, 26, 3, 0)  # 2 h after the heartbeat (09:00+08:00); the demo's old ones are ignored
    with sessions() as s, s.begin():
        s.get(Camera, ref["camera_pk"]).status = "online"
        assert offline_sweep(s, config, later) == []  # the same silent spell was already alerted by the event
    back = post(world, {"event_id": "cam-3", "type": "camera_heartbeat", "occurred_at": "2026-11-26T02:00:00Z",
                        "camera_id": ref["camera"], "payload": {"status": "online"}})
    assert back.status_code == 201
    with sessions() as s, s.begin():
        first = offline_sweep(s, config, datetime(2026, 11, 26, 4, 0))
    with sessions() as s, s.begin():
        second = offline_sweep(s, config, datetime(2026, 11, 26, 4, 5))
    assert len(first) == 1 and second == []


@pytest.mark.parametrize("body,raw,status,code", [
    (None, "{not json", 400, "malformed_json"),
    (None, "[1, 2]", 400, "wrong_type"),
    ({"type": "grid_report", "occurred_at": NOW}, None, 422, "missing_field"),
    ({"event_id": 5, "type": "grid_report", "occurred_at": NOW}, None, 422, "wrong_type"),
    ({"event_id": "x", "type": "boom", "occurred_at": NOW}, None, 422, "unknown_type"),
    ({"event_id": "x", "type": "grid_report", "occurred_at": "yesterday"}, None, 422, "bad_time"),
    ({"event_id": "x", "type": "grid_report", "occurred_at": NOW, "location": {"lon": "1", "lat": 2}}, None, 422,
     "wrong_type"),
    ({"event_id": "x", "type": "grid_report", "occurred_at": NOW, "location": {"lon": 116.4, "lat": 39.9}}, None,
     422, "outside_ankang"),
    ({"event_id": "x", "type": "mental_incident", "occurred_at": NOW, "person_id": 999999999}, None, 422,
     "unknown_person"),
    ({"event_id": "x", "type": "camera_heartbeat", "occurred_at": NOW, "camera_id": "6109000000000000000",
      "payload": {"status": "online"}}, None, 422, "wrong_type"),
    ({"event_id": "x", "type": "camera_heartbeat", "occurred_at": NOW, "camera_id": "61090000000000000000",
      "payload": {"status": "online"}}, None, 422, "unknown_camera"),
    ({"event_id": "x", "type": "dispute_report", "occurred_at": NOW, "grid_code": "610924100201001",
      "payload": {"scale": "many"}}, None, 422, "wrong_type"),
    ({"event_id": "x", "type": "grid_report", "occurred_at": NOW}, None, 422, "missing_field"),
    ({"event_id": "x", "type": "grid_report", "occurred_at": NOW, "extra": 1}, None, 422, "unknown_field"),
    (None, json.dumps({"event_id": "x", "type": "grid_report", "occurred_at": NOW, "payload": {"t": "x" * 70000}}),
     413, "too_large"),
])
def test_bad_input_is_refused_with_reason_and_nothing_stored(world, body, raw, status, code):
    before = count(world, Event)
    r = post(world, body, raw=raw)
    assert r.status_code == status, r.json
    assert r.json["error"] == code and r.json["reason"]
    assert count(world, Event) == before


def test_bad_or_missing_key(world):
    body = ev("k-1", grid_code=world["ref"]["grid"])
    assert post(world, body, key="pak_nope.xxx").status_code == 401
    r = world["client"].post("/api/events", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 401 and r.json["error"] == "bad_key"
    assert count(world, Event, Event.source_event_id == "k-1") == 0


def test_areas_lookup(world):
    lon, lat = world["ref"]["grid_point"]
    r = world["client"].get(f"/api/areas?lon={lon}&lat={lat}")
    assert r.status_code == 200 and r.json["grid"] == world["ref"]["grid"] and r.json["county"] == r.json["grid"][:6]
    assert world["client"].get("/api/areas?lon=116.4&lat=39.9").status_code == 404
    assert world["client"].get("/api/areas?lon=x").status_code == 400


def test_feed_then_actions_with_history(world):
    ref = world["ref"]
    alert_id = post(world, ev("m-9", "missing_person", person_id=ref["mental"])).json["alerts"][0]
    seen, cursor, more = [], 0, True
    while more:  # the feed pages by MAX_BATCH
        data = world["client"].get(f"/api/alerts/changes?cursor={cursor}").json
        seen += [a["id"] for a in data["alerts"]]
        cursor, more = data["cursor"], data["more"]
    assert alert_id in seen
    assert world["client"].get(f"/api/alerts/changes?cursor={cursor}").json["alerts"] == []
    sessions = make_session_factory(make_engine(world["db"]))
    testing.use_fast_hasher()
    testing.add_account(sessions, "zhang", ["duty_officer"], ["610900"])
    testing.add_account(sessions, "leader", ["city_leader"], ["610900"])  # sees everything, may not act
    officer = testing.viewer_of(sessions, "zhang")
    with sessions() as s, s.begin():
        actions.act(s, officer, alert_id, "acknowledge")
    with sessions() as s, s.begin():
        with pytest.raises(actions.ActionError):
            actions.act(s, officer, alert_id, "dispatch", "去现场")  # no assignee
        actions.act(s, officer, alert_id, "dispatch", "请立即核实", assignee="网格员李四")
    with sessions() as s, s.begin():
        actions.act(s, officer, alert_id, "resolve", "已找到，送回家中")
    with sessions() as s:
        steps = [(h.action, h.actor, h.to_state) for h in actions.history(s, alert_id)]
        assert steps == [("raise", "system", "new"), ("acknowledge", "zhang", "acknowledged"),
                         ("dispatch", "zhang", "dispatched"), ("resolve", "zhang", "resolved")]
        changed = feed.changes(s, AreaScope.city(), cursor)
        assert [a["state"] for a in changed["alerts"]] == ["resolved"]
    nobody = testing.viewer_of(sessions, "leader")
    with sessions() as s, s.begin():
        with pytest.raises(PermissionError):
            actions.act(s, nobody, alert_id, "false_alarm")
    with sessions() as s:  # the grants and the refusal are in the audit log
        from console.store.security_models import AuditLog

        rows = s.execute(select(AuditLog.actor, AuditLog.action, AuditLog.result)
                         .where(AuditLog.object == f"alert:{alert_id}")).all()
        assert ("zhang", "use:alert:act", "granted") in rows and ("leader", "access.denied", "refused") in rows


def test_unacknowledged_alerts_escalate_themselves(world):
    ref = world["ref"]
    alert_id = post(world, ev("m-10", "missing_person", person_id=ref["mental"])).json["alerts"][0]
    sessions = make_session_factory(make_engine(world["db"]))
    with sessions() as s, s.begin():
        assert alert_id not in actions.auto_escalate(s, datetime.utcnow())
    with sessions() as s, s.begin():
        assert alert_id in actions.auto_escalate(s, datetime.utcnow() + timedelta(hours=1))
    with sessions() as s:
        assert s.get(Alert, alert_id).state == "escalated"
        last = s.scalars(select(AlertHistory).where(AlertHistory.alert_id == alert_id)
                         .order_by(AlertHistory.id.desc())).first()
        assert last.actor == "system" and "自动上报" in last.note


def test_source_keys_rotate_and_disable(world):
    from console.duty.sources import SourceKeys, rotate_source
    from console.store.duty_models import DutySource

    sessions = make_session_factory(make_engine(world["db"]))
    keys = SourceKeys(sessions, ttl=0)
    with sessions() as s, s.begin():
        old = rotate_source(s, "rot", "轮换测试")
    assert keys.source_for(old) == "rot"
    with sessions() as s, s.begin():
        new = rotate_source(s, "rot")
    assert keys.source_for(old) is None and keys.source_for(new) == "rot"
    with sessions() as s, s.begin():
        s.scalar(select(DutySource).where(DutySource.name == "rot")).enabled = False
    assert keys.source_for(new) is None
    assert keys.source_for("not-a-key") is None and keys.source_for(new[:-1] + "x") is None
