"""One parser for every events-API body (docs/duty.md, "请求体"): both endpoints, on the fast WSGI path and on
the Flask route behind it, get the same limits — nesting depth, NaN/Infinity refused, duplicate keys refused,
integers beyond 64 bits kept exact — and every refusal is a 4xx JSON body with a Chinese reason."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import func, select

from console.store import Event, make_engine, make_session_factory

from duty_helpers import bare_app, make_source, samples, world_copy

CAMERA_20 = "61092400001320000001"  # a 20-digit run anywhere in the body used to switch parsers
CJK = re.compile(r"[\u4e00-\u9fff]")


def recent() -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def world(small_world_db, tmp_path_factory):
    db = world_copy(small_world_db, tmp_path_factory.mktemp("duty-body"))
    key = make_source(db)
    fast = bare_app(db)
    flask_only = bare_app(db)
    # what the Flask route answers when something wraps the app after register(): the same parser
    flask_only.wsgi_app = Flask.wsgi_app.__get__(flask_only)
    return {"db": db, "key": key, "ref": samples(db), "clients": {"fast": fast.test_client(),
                                                                  "flask": flask_only.test_client()}}


def count(world) -> int:
    engine = make_engine(world["db"])
    try:
        with make_session_factory(engine)() as s:
            return s.scalar(select(func.count()).select_from(Event))
    finally:
        engine.dispose()


def stored_payload(world, eid: str):
    engine = make_engine(world["db"])
    try:
        with make_session_factory(engine)() as s:
            return json.loads(s.scalar(select(Event.payload).where(Event.source_event_id == eid)))
    finally:
        engine.dispose()


def send(world, path: str, raw: str | bytes, endpoint: str):
    """POST raw bytes to /api/events or, wrapped in an array, to /api/events/batch; (status, item answer)."""
    client = world["clients"][path]
    if isinstance(raw, str):
        raw = raw.encode()
    url = "/api/events" if endpoint == "single" else "/api/events/batch"
    data = raw if endpoint == "single" else b"[" + raw + b"]"
    r = client.post(url, data=data, content_type="application/json", headers={"X-API-Key": world["key"]})
    text = r.get_data(as_text=True)
    assert text, f"empty body with status {r.status_code}"
    body = json.loads(text)
    if endpoint == "batch" and r.status_code == 200:
        return body["results"][0]["status"], body["results"][0]
    return r.status_code, body


ROUTES = [(p, e) for p in ("fast", "flask") for e in ("single", "batch")]


def event_text(eid: str, grid: str, payload: str) -> str:
    return (f'{{"event_id": "{eid}", "type": "grid_report", "occurred_at": "{recent()}", "grid_code": "{grid}",'
            f' "payload": {payload}}}')


BAD_PAYLOADS = {name: text for name, text in [
    ("deep", "[" * 10_000 + "]" * 10_000),
    ("deep-with-long-digits", '{"cam": "' + CAMERA_20 + '", "n": ' + "[" * 10_000 + "]" * 10_000 + "}"),
    ("deep-with-long-number", '{"n": 12345678901234567890123, "x": ' + "[" * 10_000 + "]" * 10_000 + "}"),
    ("deep-under-orjson-limit", '{"x": ' + "[" * 200 + "]" * 200 + "}"),
    ("nan", '{"x": NaN}'),
    ("nan-with-long-digits", '{"x": NaN, "cam": "' + CAMERA_20 + '"}'),
    ("infinity", '{"x": Infinity, "n": 12345678901234567890123}'),
    ("minus-infinity", '{"x": -Infinity}'),
    ("overflow", '{"x": 1e400}'),
    ("duplicate-key", '{"scale": 1, "scale": 2}'),
]}


@pytest.mark.parametrize("path,endpoint", ROUTES)
@pytest.mark.parametrize("name", BAD_PAYLOADS)
def test_bad_bodies_get_a_chinese_4xx_and_store_nothing(world, path, endpoint, name):
    payload = BAD_PAYLOADS[name]
    before = count(world)
    status, body = send(world, path, event_text(f"bad-{name}-{path}-{endpoint}", world["ref"]["grid"], payload),
                        endpoint)
    assert 400 <= status < 500, (status, body)
    assert body["error"] and CJK.search(body["reason"]), body
    assert count(world) == before


@pytest.mark.parametrize("path,endpoint", ROUTES)
def test_integers_beyond_64_bits_are_stored_exactly(world, path, endpoint):
    eid = f"big-{path}-{endpoint}"
    numbers = {"u64": 18446744073709551615, "past_u64": 18446744073709551616, "neg": -(2 ** 70) - 1,
               "cam": 61092400001320000001, "long": 10 ** 40 + 7}
    payload = json.dumps({**numbers, "list": [1, 2 ** 65, {"deep": -(2 ** 64) - 3}],
                          "text": "12345678901234567890123 in a string", "float": 1.2345678901234567e25})
    status, body = send(world, path, event_text(eid, world["ref"]["grid"], payload), endpoint)
    assert status == 201, body
    got = stored_payload(world, eid)
    assert got == json.loads(payload)
    assert all(type(got[k]) is int for k in numbers)
    assert got["list"][1] == 2 ** 65 and got["list"][2]["deep"] == -(2 ** 64) - 3
    assert got["text"] == "12345678901234567890123 in a string" and got["float"] == 1.2345678901234567e25


@pytest.mark.parametrize("path,endpoint", ROUTES)
def test_a_camera_id_sent_as_an_exact_integer_is_the_same_camera(world, path, endpoint):
    ref = world["ref"]
    eid = f"cam-int-{path}-{endpoint}"
    raw = (f'{{"event_id": "{eid}", "type": "camera_heartbeat", "occurred_at": "{recent()}",'
           f' "camera_id": {int(ref["camera"])}, "payload": {{"status": "online"}}}}')
    status, body = send(world, path, raw, endpoint)
    assert status == 201, body
    engine = make_engine(world["db"])
    with make_session_factory(engine)() as s:
        assert s.scalar(select(Event.camera_id).where(Event.source_event_id == eid)) == ref["camera_pk"]
    engine.dispose()


def test_parser_limits_directly():
    from console.duty import body

    assert body.parse(b'{"a": [1, {"b": 123456789012345678901234567890}]}', limit=1000) == {
        "a": [1, {"b": 123456789012345678901234567890}]}
    assert body.parse(b"-123456789012345678901234567890", limit=1000) == -123456789012345678901234567890
    assert body.parse(b'{"s": "-123456789012345678901234567890"}', limit=1000) == {
        "s": "-123456789012345678901234567890"}
    assert body.parse(b"[1e19, 12345678901234567890123.5, 1.5e-7]", limit=1000) == [1e19, 1.2345678901234568e22,
                                                                                        1.5e-7]
    nested = b"[" * body.MAX_DEPTH + b"]" * body.MAX_DEPTH
    assert body.parse(nested, limit=1000) == json.loads(nested)
    for raw, code in [(b"[" * (body.MAX_DEPTH + 1) + b"]" * (body.MAX_DEPTH + 1), "too_deep"),
                      (b"", "empty_body"), (b"{", "malformed_json"), (b"\xef\xbb\xbf{}", "malformed_json"),
                      (b'"\xff"', "malformed_json"), (b'"\\ud800"', "malformed_json"), (b"[NaN]", "not_finite"),
                      (b'{"a": {"b": 1, "b": 1}}', "duplicate_key"), (b"x" * 2000, "too_large")]:
        with pytest.raises(body.BodyError) as caught:
            body.parse(raw, limit=1000)
        assert caught.value.code == code and CJK.search(caught.value.reason), (raw[:20], caught.value.reason)
    # keys that only look alike are not duplicates; a key's text inside a string value is not a key
    assert body.parse(b'{"a": 1, "\\u0061b": 2, "s": "\\"a\\": 3"}', limit=1000) == {"a": 1, "ab": 2, "s": '"a": 3'}
