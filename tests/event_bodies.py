"""Generated events-API bodies and the properties every answer must keep (docs/duty.md, "校验"): no 5xx, every
2xx item stored exactly as sent, every 4xx stores nothing. Shared by tests/test_duty_fuzz.py and
benchmarks/bad_input.py.

The bodies are mostly almost right (real people, cameras, grids and points of the world; times near now) with
one or more things wrong, so both answers are common: wrong types, missing and unknown fields, control /
zero-width / bidi characters, times far off, big integers, NaN, deep nesting, replays of an earlier event_id
with other content, and raw bytes that are not JSON at all.
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st
from sqlalchemy import select

from console.duty.validate import KINDS
from console.duty.when import utc_naive
from console.store import Camera, Grid, SpecialPerson, make_engine, make_session_factory

WEIRD = "\x00\x07\x1b\x7f\x85\u200b\u200c\u200d\u2060\ufeff\u202a\u202e\u2066\u2069\u200e\u200f\u061c\u2028\u00ad"


@dataclass
class Refs:
    persons: list[int]
    cameras: list[str]
    camera_pk: dict[str, int]
    grids: list[str]
    points: list[tuple[float, float]]


def load_refs(db: str, n: int = 12) -> Refs:
    engine = make_engine(db)
    try:
        with make_session_factory(engine)() as s:
            persons = list(s.scalars(select(SpecialPerson.person_id).order_by(SpecialPerson.id).limit(n)))
            cams = s.execute(select(Camera.device_id, Camera.id).order_by(Camera.id).limit(n)).all()
            grids = s.execute(select(Grid.code, Grid.label_lon, Grid.label_lat)
                              .where(Grid.generation_high.is_(None)).order_by(Grid.code).limit(n)).all()
    finally:
        engine.dispose()
    return Refs(persons, [c[0] for c in cams], {c[0]: c[1] for c in cams}, [g[0] for g in grids],
                [(g[1], g[2]) for g in grids])


# -- strategies (built once: building them costs more than drawing) --------------------------------------
def _texts(max_size: int):
    plain = st.text(st.sampled_from("网格员上报道路积水abc 0123-_.:"), max_size=max_size)
    odd = st.text(st.sampled_from(WEIRD + "a网\t\n"), min_size=1, max_size=4)
    return st.one_of(plain, plain, st.text(max_size=max_size), st.builds(lambda a, b, c: a + b + c, plain, odd, plain))


def _times():
    def fmt(seconds: int, style: int) -> str:
        t = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        if style == 0:  # Beijing wall clock, no offset
            return t.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None).isoformat(timespec="seconds")
        if style == 1:
            return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return t.astimezone(timezone(timedelta(hours=-5))).isoformat()

    near = st.builds(fmt, st.integers(-31 * 86400, 600), st.integers(0, 2))
    anywhen = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda t: t.isoformat())
    return st.one_of(near, anywhen, TEXT40, NUMBERS, st.none())


TEXT = _texts(30)
TEXT12 = _texts(12)
TEXT40 = _texts(40)
NUMBERS = st.one_of(st.integers(-1000, 1000), st.integers(), st.integers(min_value=2 ** 63, max_value=2 ** 90),
                    st.integers(min_value=-(2 ** 90), max_value=-(2 ** 63)), st.floats())
JSON = st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS, TEXT),
                    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT12, inner, max_size=4)),
                    max_leaves=12)
TIMES = _times()
EVENT_ID = st.one_of(_texts(70), NUMBERS)
PICK = st.integers(0, 99)


CLEAN = st.text(st.sampled_from("网格员上报道路积水ABCxyz0123-_.:"), min_size=1, max_size=64)
CLEAN_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.text(st.sampled_from("纠纷调解abc 12\n\t\ue000😀"), max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(CLEAN, inner, max_size=3)), max_leaves=8)
NEAR = st.builds(lambda seconds, style: _near(seconds, style), st.integers(-29 * 86400, 240), st.integers(0, 2))
_SERIAL = itertools.count()
MUTATIONS = ("junk", "drop", "extra", "weird_id", "weird_text", "far_time", "nan", "big_person", "bad_payload")


def _near(seconds: int, style: int) -> str:
    t = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    if style == 0:  # Beijing wall clock, no offset
        return t.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None).isoformat(timespec="seconds")
    if style == 1:
        return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return t.astimezone(timezone(timedelta(hours=-5))).isoformat()


@st.composite
def valid_event(draw, refs: Refs):
    """A body that should be stored (unless the world refuses its references or place)."""
    kind = draw(st.sampled_from(list(KINDS)))
    body = {"event_id": draw(st.one_of(st.uuids().map(str), CLEAN)), "type": kind, "occurred_at": draw(NEAR)}
    place = draw(PICK) % 3
    if place != 1 or kind == "tag_position":
        lon, lat = draw(st.sampled_from(refs.points))
        body["location"] = {"lon": lon, "lat": lat}
    if place != 0:
        body["grid_code"] = draw(st.sampled_from(refs.grids))
    if kind in ("tag_position", "mental_incident", "missing_person") or draw(PICK) < 15:
        body["person_id"] = draw(st.sampled_from(refs.persons))
    if kind == "camera_heartbeat" or draw(PICK) < 10:
        cam = draw(st.sampled_from(refs.cameras))
        body["camera_id"] = cam if draw(PICK) < 70 else int(cam)
    extra = draw(st.dictionaries(CLEAN, CLEAN_JSON, max_size=3))
    if kind == "dispute_report":
        body["payload"] = {**extra, "scale": draw(st.integers(0, 60)),
                           "category": draw(st.sampled_from(["labour", "neighbour", "demolition"]))}
    elif kind == "camera_heartbeat":
        body["payload"] = {**extra, "status": draw(st.sampled_from(["online", "offline"]))}
    elif kind == "case_update":
        body["payload"] = {**extra, "case_code": draw(CLEAN), "deadline": draw(NEAR)}
    elif extra or draw(PICK) < 50:
        body["payload"] = extra
    return body


@st.composite
def event(draw, refs: Refs, used_ids: list):
    """A valid body with 0–3 things made wrong (about a third are left alone)."""
    body = draw(valid_event(refs))
    # the same draws whatever `used_ids` holds (hypothesis replays choice sequences): which id is used differs
    replay, which = draw(PICK) < 10, draw(st.integers(0, 2 ** 16))
    if replay and used_ids:
        body["event_id"] = used_ids[which % len(used_ids)]  # a replay, maybe with other content
    else:  # hypothesis draws the same ids again and again: keep new events new
        body["event_id"] = f"{body['event_id'][:50]}#{next(_SERIAL)}"
    for how in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):
        key = draw(st.sampled_from(sorted(body)))
        if how == "junk":
            body[key] = draw(st.one_of(JSON, TEXT, NUMBERS, TIMES))
        elif how == "drop":
            body.pop(key, None)
        elif how == "extra":
            body[draw(TEXT12)] = draw(JSON)
        elif how == "weird_id":
            body["event_id"] = draw(EVENT_ID)
        elif how == "weird_text":
            body["payload"] = {**(body.get("payload") if isinstance(body.get("payload"), dict) else {}),
                               draw(TEXT12): draw(TEXT)}
        elif how == "far_time":
            body["occurred_at"] = draw(TIMES)
        elif how == "nan":
            body["payload"] = {"x": draw(st.sampled_from([math.nan, math.inf, -math.inf]))}
        elif how == "big_person":
            body["person_id"] = draw(NUMBERS)
        else:
            body["payload"] = draw(JSON)
    return body


@st.composite
def raw_body(draw, refs: Refs, used_ids: list) -> tuple[bytes, object]:
    """(bytes to send, the value they encode or None when they are not one JSON value)."""
    body = draw(event(refs, used_ids))
    text = json.dumps(body, ensure_ascii=draw(PICK) < 50)  # NaN / Infinity come out as bare words
    try:
        json.dumps(body, allow_nan=False)
    except ValueError:
        return text.encode(), None  # not JSON: refused whole
    how = draw(PICK)
    if how == 99:  # cut short
        return text.encode()[: draw(st.integers(0, max(0, len(text) - 1)))], None
    if how == 98:  # deep nesting in the payload
        n = draw(st.sampled_from([33, 200, 1100, 10_000]))
        return text[:-1].encode() + b', "payload": ' + b"[" * n + b"]" * n + b"}", None
    if how == 97:  # a duplicate key
        return text[:-1].encode() + b', "type": "grid_report"}', None
    if how == 96:  # bytes that are not UTF-8
        return text.encode()[:-1] + b"\xff}", None
    return text.encode(), body


# -- properties ---------------------------------------------------------------------------------------------
def canon(value):
    """A form equal only for JSON values of the same types (1, 1.0 and True differ; -0.0 and 0.0 differ)."""
    if isinstance(value, dict):
        return ("o", tuple(sorted((k, canon(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("a", tuple(canon(v) for v in value))
    if isinstance(value, float):
        return ("f", value.hex())
    return (type(value).__name__, value)


@dataclass
class Tally:
    bodies: int = 0
    status: dict = field(default_factory=dict)
    five_xx: int = 0
    mismatch: int = 0
    problems: list = field(default_factory=list)

    def note(self, kind: str, detail) -> None:
        if kind == "5xx":
            self.five_xx += 1
        else:
            self.mismatch += 1
        if len(self.problems) < 20:
            self.problems.append((kind, detail))


class Store:
    """Reads what the ingest stored, on its own connection (what another process sees after the answer)."""

    def __init__(self, db: str, source: str):
        self.conn = sqlite3.connect(db)
        self.source = source

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM event").fetchone()[0]

    def row(self, eid: str):
        return self.conn.execute("SELECT kind, occurred_at, person_id, camera_id, payload, lon, lat, grid_code"
                                 " FROM event WHERE source = ? AND source_event_id = ?", (self.source, eid)).fetchone()

    def close(self) -> None:
        self.conn.close()


def check_item(store: Store, refs: Refs, body, status: int, answer: dict, tally: Tally) -> None:
    """One item's answer against what is stored. `body` None: the bytes were not an event (must be refused)."""
    tally.status[status] = tally.status.get(status, 0) + 1
    if status >= 500:
        tally.note("5xx", (status, answer, body))
        return
    if status >= 400:
        if not (answer.get("error") and answer.get("reason")):
            tally.note("mismatch", ("4xx without error/reason", answer))
        return
    if body is None or status not in (200, 201):
        tally.note("mismatch", ("2xx for a body that is not an event", status, answer))
        return
    row = store.row(body["event_id"])
    if row is None:
        tally.note("mismatch", ("2xx but not stored", body))
        return
    kind, occurred, person, camera, payload, lon, lat, grid = row
    want_camera = refs.camera_pk.get(str(body["camera_id"])) if "camera_id" in body else None
    loc = body.get("location")
    checks = {
        "type": kind == body["type"],
        "occurred_at": datetime.fromisoformat(occurred) == utc_naive(body["occurred_at"]),
        "person_id": person == body.get("person_id"),
        "camera_id": camera == want_camera,
        "payload": canon(json.loads(payload)) == canon(body.get("payload", {})),
        "location": loc is None or (lon, lat) == (float(loc["lon"]), float(loc["lat"])),
        "grid_code": loc is not None or lon is not None or grid == body.get("grid_code"),
        "finite": lon is None or math.isfinite(lon),
    }
    wrong = [k for k, ok in checks.items() if not ok]
    if wrong:
        tally.note("mismatch", (wrong, body, row))


def exercise(post, store: Store, refs: Refs, items: list, batch: bool, tally: Tally, used: list) -> None:
    """Send `items` ((raw, body) pairs from `raw_body`) one request each, or all in one batch request, and check
    every answer into `tally`. `post(path, raw) -> (status, parsed JSON answer or None)`."""
    if not batch:
        for raw, body in items:
            before = store.count()
            status, answer = post("/api/events", raw)
            tally.bodies += 1
            check_item(store, refs, body, status, answer or {}, tally)
            if store.count() - before != (1 if status == 201 else 0):
                tally.note("mismatch", ("stored rows changed by", store.count() - before, status, answer))
            if status == 201:
                used.append(body["event_id"])
        return
    before = store.count()
    status, answer = post("/api/events/batch", b"[" + b", ".join(raw for raw, _ in items) + b"]")
    tally.bodies += len(items)
    whole = any(body is None for _, body in items)  # one item is not JSON: the whole request is refused
    if status >= 500 or answer is None or (whole and not (400 <= status < 500 and answer.get("reason"))) \
            or (not whole and status != 200):
        tally.note("5xx" if status >= 500 else "mismatch", ("batch answer", status, answer))
        return
    if whole:
        if store.count() != before:
            tally.note("mismatch", ("refused batch stored rows", store.count() - before))
        return
    results = answer["results"]
    if len(results) != len(items):
        tally.note("mismatch", ("batch results", len(results), len(items)))
        return
    for (_raw, body), result in zip(items, results):
        check_item(store, refs, body, result["status"], result, tally)
        if result["status"] == 201:
            used.append(body["event_id"])
    if store.count() - before != sum(1 for r in results if r["status"] == 201):
        tally.note("mismatch", ("batch stored rows", store.count() - before, [r["status"] for r in results]))
