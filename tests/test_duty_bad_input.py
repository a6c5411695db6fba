"""Events API refusals by class (docs/duty.md, "校验"): times outside the accepted window and offset-less times
(Beijing), replays that differ from the stored event, control / zero-width / bidi characters, and a message that
names every bad or missing field. Sent by HTTP to both endpoints; a refusal stores nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from console.duty.ingest import IngestError, Ingestor
from console.duty import rules
from console.store import Event, make_engine, make_session_factory

from duty_helpers import bare_app, make_source, samples, world_copy

BEIJING = timezone(timedelta(hours=8))


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(t: datetime, tz=timezone.utc) -> str:
    return t.replace(tzinfo=timezone.utc).astimezone(tz).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def world(small_world_db, tmp_path_factory):
    db = world_copy(small_world_db, tmp_path_factory.mktemp("duty-bad"))
    key = make_source(db)
    return {"db": db, "key": key, "ref": samples(db), "client": bare_app(db).test_client()}


def post(world, body, endpoint="single"):
    """(status, answer for this event): the single endpoint's answer or the batch's item result."""
    if endpoint == "single":
        r = world["client"].post("/api/events", data=json.dumps(body), content_type="application/json",
                                 headers={"X-API-Key": world["key"]})
        return r.status_code, r.json
    r = world["client"].post("/api/events/batch", data=json.dumps([body]), content_type="application/json",
                             headers={"X-API-Key": world["key"]})
    assert r.status_code == 200, r.json
    return r.json["results"][0]["status"], r.json["results"][0]


def rows(world, eid: str) -> list:
    engine = make_engine(world["db"])
    try:
        with make_session_factory(engine)() as s:
            return s.execute(select(Event.occurred_at, Event.lon, Event.lat, Event.person_id, Event.payload,
                                    Event.kind).where(Event.source_event_id == eid)).all()
    finally:
        engine.dispose()


def named(answer: dict) -> set[str]:
    return {f["field"] for f in answer.get("fields", ())}


def base(world, eid: str, **kw) -> dict:
    return {"event_id": eid, "type": "grid_report", "occurred_at": iso(utcnow() - timedelta(hours=1)),
            "grid_code": world["ref"]["grid"], **kw}


ENDPOINTS = ["single", "batch"]


# -- time -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("when", ["2099-01-01T00:00:00+08:00", "1900-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
                                  "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00", "+1day", "+10min",
                                  "-31days", "2026-13-01T00:00:00", "１２３", "2026-11-26T09:00:00+08:00\n"])
def test_times_outside_the_window_are_refused_naming_the_field(world, endpoint, when):
    now = utcnow()
    relative = {"+1day": now + timedelta(days=1), "+10min": now + timedelta(minutes=10),
                "-31days": now - timedelta(days=31)}
    value = iso(relative[when], BEIJING) if when in relative else when
    eid = f"t-{endpoint}-" + "".join(ch for ch in when if ch.isalnum())
    status, answer = post(world, base(world, eid, occurred_at=value), endpoint)
    assert status == 422, answer
    assert "occurred_at" in answer["reason"] and named(answer) == {"occurred_at"}, answer
    assert rows(world, eid) == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_times_inside_the_window_are_stored_in_utc(world, endpoint):
    now = utcnow().replace(microsecond=0)
    for i, t in enumerate([now + timedelta(minutes=3), now - timedelta(days=29)]):
        status, answer = post(world, base(world, f"ok-{endpoint}-{i}", occurred_at=iso(t, BEIJING)), endpoint)
        assert status == 201, answer
        assert rows(world, f"ok-{endpoint}-{i}")[0][0] == t


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_time_without_offset_is_beijing_time(world, endpoint):
    t = utcnow().replace(microsecond=0) - timedelta(hours=2)
    local = iso(t, BEIJING)[:19]  # 'YYYY-MM-DDTHH:MM:SS', Beijing wall clock, no offset
    status, answer = post(world, base(world, f"naive-{endpoint}", occurred_at=local), endpoint)
    assert status == 201, answer
    assert rows(world, f"naive-{endpoint}")[0][0] == t
    # a deadline without offset is Beijing time too: one hour before the event, so the case is overdue
    deadline = iso(t - timedelta(hours=1), BEIJING)[:19]
    status, answer = post(world, base(world, f"due-{endpoint}", type="case_update", occurred_at=local,
                                      payload={"case_code": f"JF-{endpoint}", "deadline": deadline}), endpoint)
    assert status == 201 and len(answer["alerts"]) == 1, answer


def test_the_window_is_configurable(world):
    config = {**rules.load_config(), "ingest": {"future_skew_minutes": 1, "max_age_days": 2}}
    engine = make_engine(world["db"])
    ingestor = Ingestor.create(engine, config)
    try:
        now = utcnow()
        for eid, t in [("cfg-old", now - timedelta(days=3)), ("cfg-ahead", now + timedelta(minutes=2))]:
            with pytest.raises(IngestError) as caught:
                ingestor.ingest("test", base(world, eid, occurred_at=iso(t)))
            assert caught.value.status == 422 and "occurred_at" in caught.value.reason
        assert ingestor.ingest("test", base(world, "cfg-ok", occurred_at=iso(now - timedelta(days=1))))[0] == 201
        with pytest.raises(ValueError):
            Ingestor.create(engine, {**config, "ingest": {"max_age_days": -1}})
    finally:
        ingestor.close()
        engine.dispose()


# -- replay -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_replay_that_differs_in_any_stored_field_is_a_conflict_naming_them(world, endpoint):
    ref = world["ref"]
    t = utcnow().replace(microsecond=0) - timedelta(hours=3)
    first = {"event_id": f"rp-{endpoint}", "type": "tag_position", "occurred_at": iso(t, BEIJING),
             "person_id": ref["correction"], "location": {"lon": ref["home"][0], "lat": ref["home"][1]},
             "payload": {"accuracy": 5}}
    status, answer = post(world, first, endpoint)
    assert status == 201, answer
    before = rows(world, first["event_id"])
    # the same instant written in another offset is the same event
    status, again = post(world, {**first, "occurred_at": iso(t)}, endpoint)
    assert status == 200 and again["id"] == answer["id"], again
    lon, lat = ref["away"]
    changes = [
        ({"occurred_at": iso(t + timedelta(minutes=1), BEIJING)}, {"occurred_at"}),
        ({"location": {"lon": lon, "lat": lat}}, {"location"}),
        ({"location": {"lon": ref["home"][0] + 1e-9, "lat": ref["home"][1]}}, {"location"}),
        ({"person_id": ref["mental"]}, {"person_id"}),
        ({"payload": {"accuracy": 5.0}}, {"payload"}),
        ({"payload": {}}, {"payload"}),
        ({"type": "mental_incident"}, {"type"}),
        ({"occurred_at": iso(t - timedelta(hours=1)), "payload": {"accuracy": 6}}, {"occurred_at", "payload"}),
    ]
    for change, fields in changes:
        status, answer = post(world, {**first, **change}, endpoint)
        assert status == 409 and answer["error"] == "conflict", (change, answer)
        assert named(answer) == fields and all(f in answer["reason"] for f in fields), (change, answer)
    assert rows(world, first["event_id"]) == before


def test_a_replay_located_by_grid_compares_the_grid(world):
    from console.store import Grid

    first = base(world, "rp-grid")
    assert post(world, first)[0] == 201
    engine = make_engine(world["db"])
    with make_session_factory(engine)() as s:
        other = s.scalars(select(Grid.code).where(Grid.generation_high.is_(None), Grid.code != first["grid_code"])
                          ).first()
    engine.dispose()
    status, answer = post(world, {**first, "grid_code": other})
    assert status == 409 and named(answer) == {"grid_code"}, answer


# -- text -------------------------------------------------------------------------------------------------
BAD_CHARS = {"nul": "\x00", "bell": "\x07", "del": "\x7f", "c1": "\x85", "zwsp": "\u200b", "zwj": "\u200d",
             "bom": "\ufeff", "rlo": "\u202e", "lri": "\u2066", "rlm": "\u200f", "line-sep": "\u2028"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("char", BAD_CHARS)
def test_invisible_and_control_characters_are_refused(world, endpoint, char):
    c = BAD_CHARS[char]
    for eid, body, field in [
        (f"id{c}-{endpoint}-{char}", {}, "event_id"),
        (f"txt-{endpoint}-{char}", {"payload": {"text": f"道路{c}积水"}}, "payload.text"),
        (f"key-{endpoint}-{char}", {"payload": {f"te{c}xt": "道路积水"}}, "payload"),
        (f"deep-{endpoint}-{char}", {"payload": {"items": [{"note": f"a{c}"}]}}, "payload.items[0].note"),
        (f"case-{endpoint}-{char}", {"type": "case_update", "payload": {"case_code": f"JF{c}1"}},
         "payload.case_code"),
    ]:
        status, answer = post(world, base(world, eid, **body), endpoint)
        assert status == 422, (char, field, answer)
        assert field in named(answer) and field in answer["reason"], (char, field, answer)
        assert rows(world, eid) == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_identifiers_refuse_spaces_and_look_alike_digits(world, endpoint):
    for body, field in [({"event_id": " lead"}, "event_id"), ({"event_id": "nb\u00a0sp"}, "event_id"),
                        ({"event_id": "tab\t"}, "event_id"), ({"event_id": "\ue000pua"}, "event_id"),
                        ({"grid_code": "６" * 15}, "grid_code"), ({"grid_code": "\u0661" * 15}, "grid_code"),
                        ({"type": "camera_heartbeat", "camera_id": "\u0661" * 20, "payload": {"status": "online"}},
                         "camera_id"),
                        ({"person_id": 2 ** 70}, "person_id"), ({"person_id": -5}, "person_id")]:
        eid = body.get("event_id", f"ident-{endpoint}-{field}-{len(str(body))}")
        status, answer = post(world, {**base(world, eid), **body}, endpoint)
        assert status == 422 and field in named(answer), (body, answer)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_free_text_keeps_line_breaks_tabs_and_rare_characters(world, endpoint):
    text = "第一行\n第二行\r\n\t缩进　全角空格 \ue000生僻字 😀 English"
    eid = f"text-ok-{endpoint}"
    status, answer = post(world, base(world, eid, payload={"text": text, "list": ["a\nb"]}), endpoint)
    assert status == 201, answer
    assert json.loads(rows(world, eid)[0][4]) == {"text": text, "list": ["a\nb"]}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_refusal_names_every_bad_or_missing_field(world, endpoint):
    status, answer = post(world, {"extra": 1, "type": "tag_position"}, endpoint)
    assert status == 422, answer
    assert named(answer) >= {"event_id", "occurred_at", "extra", "person_id", "location"}, answer
    bad = {"event_id": f"many\x00-{endpoint}", "type": "dispute_report", "occurred_at": "2099-01-01T00:00:00",
           "location": {"lon": "108", "lat": 32.7}, "person_id": "12", "camera_id": "123", "grid_code": 5,
           "payload": {"scale": -1, "text": "\u202e"}, "unknown": True, "also_unknown": None}
    status, answer = post(world, bad, endpoint)
    assert status == 422, answer
    expected = {"event_id", "occurred_at", "location.lon", "person_id", "camera_id", "grid_code", "payload.scale",
                "payload.text", "unknown", "also_unknown"}
    assert named(answer) == expected, answer
    assert all(f in answer["reason"] for f in expected), answer
    # references: an unknown person and an unknown camera are both named
    ghost = {**base(world, f"ghosts-{endpoint}"), "type": "camera_heartbeat", "person_id": 2_000_000_000,
             "camera_id": "61099999999999999999", "payload": {"status": "online"}}
    status, answer = post(world, ghost, endpoint)
    assert status == 422 and named(answer) == {"person_id", "camera_id"}, answer
