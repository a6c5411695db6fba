"""POST /api/events/batch: a result per item, each idempotent and isolated, all committed before the answer;
whole-request refusals (key, size, shape, content type) store nothing. Also the fast path's headers and the
source-key cache."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from console.routes.events import MAX_BATCH_ITEMS
from console.store import Alert, Event, make_engine, make_session_factory

from duty_helpers import bare_app, make_source, samples, world_copy

NOW = "2026-11-26T09:00:00+08:00"
CLOCK = datetime(2026, 11, 26, 3, 0)  # the server's "now" (naive UTC) for the accepted window of event times


@pytest.fixture(scope="module")
def world(small_world_db, tmp_path_factory):
    db = world_copy(small_world_db, tmp_path_factory.mktemp("duty-batch"))
    key = make_source(db)
    return {"db": db, "key": key, "ref": samples(db), "client": bare_app(db, clock=lambda: CLOCK).test_client()}


def post(world, items, key=None, raw=None, path="/api/events/batch", content_type="application/json"):
    data = raw if raw is not None else json.dumps(items)
    return world["client"].post(path, data=data, content_type=content_type,
                                headers={"X-API-Key": key or world["key"]})


def ev(eid, kind="grid_report", **kw):
    return {"event_id": eid, "type": kind, "occurred_at": NOW, **kw}


def stored(world, *eids) -> dict[str, int]:
    """event_id → stored id, read on a fresh connection (what another process would see)."""
    engine = make_engine(world["db"])
    try:
        with make_session_factory(engine)() as s:
            return dict(s.execute(select(Event.source_event_id, Event.id).where(Event.source_event_id.in_(eids))).all())
    finally:
        engine.dispose()


def test_mixed_batch_answers_each_item_and_commits_before_answering(world):
    ref = world["ref"]
    before = post(world, None, raw=json.dumps(ev("b-old", grid_code=ref["grid"])), path="/api/events")
    assert before.status_code == 201
    scale = ev("b-scale", "dispute_report", grid_code=ref["grid"], payload={"scale": 40, "category": "neighbour"})
    items = [
        ev("b-new", grid_code=ref["grid"]),
        ev("b-old", grid_code=ref["grid"]),                       # stored before: a replay
        ev("b-bad", location={"lon": 116.4, "lat": 39.9}),          # outside Ankang
        scale,
        scale,                                                      # the same event twice in one batch
        dict(ev("b-old", grid_code=ref["grid"]), payload={"x": 1}),  # same id, other content
        [1, 2],                                                     # not an object
    ]
    r = post(world, items)
    assert r.status_code == 200, r.json
    results = r.json["results"]
    assert [x["status"] for x in results] == [201, 200, 422, 201, 200, 409, 400]
    assert r.json["stored"] == 4 and r.json["refused"] == 3
    assert results[1]["id"] == before.json["id"] and results[1]["event_id"] == "b-old"
    assert results[2]["error"] == "outside_ankang" and results[2]["event_id"] == "b-bad" and results[2]["reason"]
    assert results[4] == {**results[3], "status": 200} and len(results[3]["alerts"]) == 1
    assert results[5]["error"] == "conflict" and results[6]["error"] == "wrong_type"
    # the answer came after the commit: another connection sees every stored item with the answered id
    assert stored(world, "b-new", "b-old", "b-scale", "b-bad") == {
        "b-new": results[0]["id"], "b-old": before.json["id"], "b-scale": results[3]["id"]}
    engine = make_engine(world["db"])
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Alert).where(Alert.event_id == results[3]["id"])) == 1
    engine.dispose()


def test_replaying_a_whole_batch_changes_nothing(world):
    items = [ev(f"rb-{i}", grid_code=world["ref"]["grid"], payload={"n": i}) for i in range(30)]
    first = post(world, items)
    assert [x["status"] for x in first.json["results"]] == [201] * 30
    again = post(world, items)
    assert [x["status"] for x in again.json["results"]] == [200] * 30
    assert [x["id"] for x in again.json["results"]] == [x["id"] for x in first.json["results"]]
    assert len(stored(world, *(i["event_id"] for i in items))) == 30


@pytest.mark.parametrize("raw,content_type,status,code", [
    ("[]", "application/json", 400, "wrong_type"),
    ('{"event_id": "x"}', "application/json", 400, "wrong_type"),
    ("[{not json", "application/json", 400, "malformed_json"),
    ("[]", "text/plain", 415, "not_json"),
    (json.dumps([ev(f"too-many-{i}") for i in range(MAX_BATCH_ITEMS + 1)]), "application/json", 413, "too_large"),
    (json.dumps([ev("big", payload={"t": "x" * 15_000})] * 150), "application/json", 413, "too_large"),
])
def test_whole_batch_refusals_store_nothing(world, raw, content_type, status, code):
    engine = make_engine(world["db"])
    with make_session_factory(engine)() as s:
        before = s.scalar(select(func.count()).select_from(Event))
    r = post(world, None, raw=raw, content_type=content_type)
    assert r.status_code == status, r.json
    assert r.json["error"] == code and r.json["reason"]
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == before
    engine.dispose()


def test_batch_needs_a_valid_key(world):
    items = [ev("k-batch", grid_code=world["ref"]["grid"])]
    assert post(world, items, key="pak_nope.xxx").status_code == 401
    r = world["client"].post("/api/events/batch", data=json.dumps(items), content_type="application/json")
    assert r.status_code == 401 and r.json["error"] == "bad_key"
    assert stored(world, "k-batch") == {}


def test_a_batch_costs_one_rate_limit_token_per_item(small_world_db, tmp_path):
    from flask import Flask

    from console.routes import ingest

    db = world_copy(small_world_db, tmp_path)
    key = make_source(db)
    server = Flask("limited")
    ingest.register(server, make_engine(db), burst=10, per_minute=1)
    client = server.test_client()
    grid = samples(db)["grid"]
    r = client.post("/api/events/batch", data=json.dumps([ev(f"rl-{i}", grid_code=grid) for i in range(11)]),
                    content_type="application/json", headers={"X-API-Key": key})
    assert r.status_code == 429 and r.json["error"] == "rate_limited"
    r = client.post("/api/events/batch", data=json.dumps([ev(f"rl-{i}", grid_code=grid) for i in range(10)]),
                    content_type="application/json", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json["stored"] == 10


def test_console_answers_ingest_with_its_security_headers(small_world_db, tmp_path):
    """In the full console the two POSTs bypass Flask's hooks, so the endpoint adds the same static headers."""
    from console.app import create_app
    from console.config import Settings
    from tests.security_login import security_settings

    db = world_copy(small_world_db, tmp_path)
    key = make_source(db)
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())
    client = app.server.test_client()
    r = client.post("/api/events", data=json.dumps(ev("h-1", grid_code=samples(db)["grid"])),
                    content_type="application/json", headers={"X-API-Key": key})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "no-store"
    assert client.post("/api/events/batch", data="[]", content_type="application/json").status_code == 401
    assert client.get("/api/alerts/changes?cursor=0").status_code == 401  # the feed still needs a session


def test_a_verified_key_is_remembered_but_only_for_its_current_hash(world):
    from console.duty.sources import SourceKeys, rotate_source

    sessions = make_session_factory(make_engine(world["db"]))
    keys = SourceKeys(sessions, ttl=0)
    with sessions() as s, s.begin():
        key = rotate_source(s, "cache", "缓存测试")
    assert keys.source_for(key) == "cache" and keys.source_for(key) == "cache"
    assert keys._verified == {key: keys._current(key.partition(".")[0])[1]}
    assert keys.source_for(key[:-1] + ("x" if key[-1] != "x" else "y")) is None  # same prefix, wrong secret
    with sessions() as s, s.begin():
        rotate_source(s, "cache")
    assert keys.source_for(key) is None


def test_a_rotated_or_disabled_key_stores_nothing_even_while_the_endpoint_caches_the_old_one(world):
    """The endpoint checks keys against a table cached for seconds; the write re-checks the hash inside its own
    transaction, so a key changed behind the cache's back is refused at once, single and batch, and stores nothing."""
    from console.duty.sources import rotate_source
    from console.store.duty_models import DutySource

    sessions = make_session_factory(make_engine(world["db"]))
    with sessions() as s, s.begin():
        old = rotate_source(s, "stale", "缓存过期测试")
    grid = world["ref"]["grid"]
    assert post(world, None, key=old, raw=json.dumps(ev("k-1", grid_code=grid)), path="/api/events").status_code == 201
    with sessions() as s, s.begin():  # behind the endpoint's cache (it holds the old hash for a few seconds)
        new = rotate_source(s, "stale")
    r = post(world, None, key=old, raw=json.dumps(ev("k-2", grid_code=grid)), path="/api/events")
    assert r.status_code == 401 and r.get_json()["error"] == "bad_key"
    r = post(world, [ev("k-3", grid_code=grid), ev("k-4", grid_code=grid)], key=old)
    assert r.status_code == 401 and r.get_json()["error"] == "bad_key"
    assert post(world, None, key=new, raw=json.dumps(ev("k-5", grid_code=grid)), path="/api/events").status_code == 201
    with sessions() as s, s.begin():
        s.execute(DutySource.__table__.update().where(DutySource.name == "stale").values(enabled=False))
    r = post(world, [ev("k-6", grid_code=grid)], key=new)
    assert r.status_code == 401
    assert set(stored(world, *(f"k-{i}" for i in range(1, 7)))) == {"k-1", "k-5"}
