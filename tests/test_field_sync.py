"""The phone app's sync API (docs/field.md) over HTTP, as a phone (or a forger) would call it: idempotent upserts by
UUID, conflicts kept with both copies, photos checked by their bytes and resumed at an offset, GPS accuracy kept and
flagged, another worker's grid refused by name, a phone clock hours off measured, the gate's login and CSRF rules."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid as uuidlib
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from console.app import create_app
from console.config import Settings
from console.field.validation import FieldError, parse_record
from console.store import Grid, Household, make_engine, make_session_factory
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings

WORKER = "wangge"
OTHER_WORKER = "lige"
MINE = ("610924100200001", "610924100200002")
NOT_MINE = "610924101200001"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 300 + b"\xff\xd9"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("field") / "tiny.sqlite")
    add_account(path, WORKER, ["grid_worker"], list(MINE))
    add_account(path, OTHER_WORKER, ["grid_worker"], [MINE[0]])
    add_account(path, "cunwei", ["village"], [MINE[0][:12]])
    add_account(path, "county_user", ["county"], ["610924"])
    return path


@pytest.fixture(scope="module")
def app(world):
    return create_app(world, settings=Settings(warm_cache=False), security_settings=security_settings())


@pytest.fixture(scope="module")
def clock(app):
    return app.server.config["PINGAN_CONTEXT"].security.settings.clock


def _client(app, user):
    client = app.server.test_client()
    token = login_client(client, user)
    return client, {"X-CSRFToken": token, "Origin": ORIGIN, "X-Field-App": "3"}


@pytest.fixture()
def worker(app):
    return _client(app, WORKER)


def q(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def record(kind="event", grid=MINE[0], base=0, uid=None, op=None, fields=None, location=None, household_id=None,
           client_time="2026-11-26T07:59:00Z"):
    return {"uuid": uid or str(uuidlib.uuid4()), "op_id": op or str(uuidlib.uuid4()), "kind": kind,
            "base_version": base, "grid_code": grid, "client_time": client_time, "location": location,
            "household_id": household_id,
            "fields": fields or ({"type": "safety", "text": "桥边护栏松动"} if kind == "event"
                                 else {"address": "紫阳县测试镇测试路9号", "kind": "registered", "size": 3})}


def put(client_headers, rec, sent_at=None):
    client, headers = client_headers
    body = dict(rec, sent_at=sent_at or "2026-11-26T08:00:00Z")
    return client.put(f"/api/field/records/{rec['uuid']}", json=body, headers=headers)


def grid_point(world, code):
    engine = make_engine(world, must_exist=True)
    with make_session_factory(engine)() as s:
        g = s.scalar(select(Grid).where(Grid.code == code))
        out = (g.label_lon, g.label_lat)
    engine.dispose()
    return out


def stored(world, uuid):
    """The record and its conflicts through the store (payloads are encrypted at rest)."""
    from console.store.field_models import FieldConflict, FieldRecord

    engine = make_engine(world, must_exist=True)
    with make_session_factory(engine)() as s:
        row = s.scalar(select(FieldRecord).where(FieldRecord.uuid == uuid))
        conflicts = list(s.scalars(select(FieldConflict).where(FieldConflict.record_id == row.id)))
    engine.dispose()
    return row, conflicts


# -- idempotency ---------------------------------------------------------------------------------------------
def test_the_same_record_sent_twice_is_stored_once(world, worker):
    rec = record()
    first, again = put(worker, rec), put(worker, rec)  # a retry after a lost answer: same op_id
    assert first.status_code == 201 and first.json["status"] == "created" and first.json["version"] == 1
    assert again.status_code == 200 and again.json["status"] == "duplicate" and again.json["version"] == 1
    resent = put(worker, dict(rec, op_id=str(uuidlib.uuid4())))  # the form submitted twice: a new op, same content
    assert resent.json["status"] == "duplicate"
    assert q(world, "select count(*), max(version) from field_record where uuid=?", rec["uuid"]) == [(1, 1)]
    assert q(world, "select count(*) from field_record_version v join field_record r on r.id=v.record_id "
                    "where r.uuid=?", rec["uuid"]) == [(1,)]


def test_a_batch_replayed_twice_stores_each_record_once(world, worker):
    client, headers = worker
    recs = [record() for _ in range(5)]
    body = {"sent_at": "2026-11-26T08:00:00Z", "records": recs + recs[:2]}
    r1 = client.post("/api/field/sync", json=body, headers=headers)
    r2 = client.post("/api/field/sync", json=body, headers=headers)
    assert r1.status_code == r2.status_code == 200
    assert [x["status"] for x in r1.json["results"]] == ["created"] * 5 + ["duplicate"] * 2
    assert {x["status"] for x in r2.json["results"]} == {"duplicate"}
    marks = ",".join("?" * 5)
    assert q(world, f"select count(*) from field_record where uuid in ({marks})", *[r["uuid"] for r in recs]) == [(5,)]


def test_one_bad_record_does_not_hold_up_the_batch(world, worker):
    client, headers = worker
    good, bad = record(), record(fields={"type": "no-such-type", "text": "x"})
    r = client.post("/api/field/sync", json={"sent_at": "2026-11-26T08:00:00Z", "records": [bad, good]},
                    headers=headers)
    first, second = r.json["results"]
    assert first["status"] == "rejected" and "事件类型" in first["error"]
    assert second["status"] == "created"


# -- versions and conflicts ------------------------------------------------------------------------------------
def test_an_edit_on_an_old_version_is_kept_as_a_conflict_never_overwriting(world, worker, app):
    rec = record(kind="household")
    assert put(worker, rec).status_code == 201
    v2 = dict(rec, op_id=str(uuidlib.uuid4()), base_version=1, fields={**rec["fields"], "size": 4})
    assert put(worker, v2).json == {"uuid": rec["uuid"], "status": "updated", "version": 2}
    stale = dict(rec, op_id=str(uuidlib.uuid4()), base_version=1, fields={**rec["fields"], "size": 7})
    r = put(worker, stale)
    assert r.status_code == 409 and r.json["status"] == "conflict" and r.json["version"] == 2
    row, conflicts = stored(world, rec["uuid"])
    assert json.loads(row.payload)["fields"]["size"] == 4 and row.version == 2 and row.has_conflict  # server's stands
    (conflict,) = conflicts
    assert json.loads(conflict.server_payload)["fields"]["size"] == 4
    assert json.loads(conflict.client_payload)["fields"]["size"] == 7
    assert put(worker, stale).json["status"] == "conflict"  # replayed: still one conflict row
    assert q(world, "select count(*) from field_conflict where op_id=?", stale["op_id"]) == [(1,)]


def test_two_workers_editing_one_household_offline(world, app):
    a, b = _client(app, WORKER), _client(app, OTHER_WORKER)
    grid = a[0].get("/api/field/grid").json
    h = next(x for x in grid["households"] if x["grid_code"] == MINE[0])
    assert h["version"] == 0
    base = {"kind": "household", "uid": h["record_uuid"], "household_id": h["id"], "base": 0, "grid": None}
    ra = put(a, record(**base, fields={"address": "", "kind": "rental", "size": 2}))
    rb = put(b, record(**base, fields={"address": "", "kind": "registered", "size": 5}))
    assert (ra.json["status"], rb.json["status"]) == ("created", "conflict")
    # the supervisor sees both copies and takes the phone's; the worker's list then shows the new version
    sup = _client(app, "cunwei")
    open_ = sup[0].get("/api/field/conflicts").json["conflicts"]
    mine = [c for c in open_ if c["uuid"] == h["record_uuid"]]
    assert len(mine) == 1 and mine[0]["server"]["fields"]["size"] == 2 and mine[0]["phone"]["fields"]["size"] == 5
    done = sup[0].post(f"/api/field/conflicts/{mine[0]['id']}", json={"decision": "take_phone"}, headers=sup[1])
    assert done.status_code == 200 and done.json["version"] == 2
    after = a[0].get("/api/field/grid").json
    assert next(x for x in after["households"] if x["id"] == h["id"])["version"] == 2
    assert q(world, "select count(*) from audit_log where actor='cunwei' and action='field.conflict.resolve'")[0][0] == 1
    # a worker cannot settle conflicts
    assert a[0].get("/api/field/conflicts").status_code == 403


# -- scope, GPS, clock -------------------------------------------------------------------------------------------
def test_a_record_for_another_workers_grid_is_refused_by_name(world, worker):
    rec = record(grid=NOT_MINE)
    r = put(worker, rec)
    assert r.status_code == 403 and NOT_MINE in r.json["error"] and "第1网格" in r.json["error"]
    assert r.json["code"] == "grid_not_yours"
    assert q(world, "select count(*) from field_record where uuid=?", rec["uuid"]) == [(0,)]
    assert q(world, "select count(*) from audit_log where actor=? and result='refused' and object like ?",
             WORKER, f"%{NOT_MINE}%")[0][0] >= 1
    # a usable fix inside someone else's grid does not put the record there either
    lon, lat = grid_point(world, NOT_MINE)
    r = put(worker, record(grid=None, location={"lon": lon, "lat": lat, "accuracy": 10, "source": "gps"}))
    assert r.status_code == 403


def test_coarse_gps_is_kept_and_flagged_and_never_picks_a_grid(world, worker):
    lon, lat = grid_point(world, MINE[1])
    coarse = {"lon": lon, "lat": lat, "accuracy": 3000, "source": "gps"}
    alone = record(grid=None, location=coarse)
    r = put(worker, alone)
    assert r.status_code == 422 and "3000 米" in r.json["error"] and r.json["code"] == "accuracy_too_coarse"
    named = record(grid=MINE[0], location=coarse)  # the worker names the grid: stored there, flagged
    r = put(worker, named)
    assert r.status_code == 201 and r.json["flags"] == ["accuracy"]
    assert q(world, "select grid_code, accuracy_m, accuracy_flag from field_record where uuid=?", named["uuid"]) == [
        (MINE[0], 3000.0, 1)]
    fine = record(grid=None, location=dict(coarse, accuracy=30))  # a good fix picks the worker's grid under it
    assert put(worker, fine).status_code == 201
    assert q(world, "select grid_code, accuracy_flag from field_record where uuid=?", fine["uuid"]) == [(MINE[1], 0)]


def test_a_phone_clock_hours_off_is_measured_and_both_times_kept(world, worker, clock):
    server_now = clock()
    phone_now = server_now - timedelta(hours=5)
    rec = record(client_time=(phone_now - timedelta(minutes=10)).isoformat() + "Z")
    r = put(worker, rec, sent_at=phone_now.isoformat() + "Z")
    assert r.status_code == 201 and "clock" in r.json["flags"]
    client_time, received, skew, flag = q(world, "select client_time, received_at, clock_skew_s, clock_flag "
                                                 "from field_record where uuid=?", rec["uuid"])[0]
    assert datetime.fromisoformat(client_time) == phone_now - timedelta(minutes=10)
    assert datetime.fromisoformat(received) == server_now and skew == 5 * 3600 and flag == 1


# -- photos -------------------------------------------------------------------------------------------------------
def _declare(worker, rec_uuid, data, **over):
    client, headers = worker
    body = {"uuid": str(uuidlib.uuid4()), "record_uuid": rec_uuid, "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data), **over}
    return body, client.post("/api/field/photos", json=body, headers=headers)


def _chunk(worker, photo_uuid, offset, data):
    client, headers = worker
    return client.put(f"/api/field/photos/{photo_uuid}?offset={offset}", data=data,
                      headers={**headers, "Content-Type": "application/octet-stream"})


def test_a_photo_resumes_after_a_cut_and_is_checked_by_its_bytes(world, worker):
    rec = record()
    put(worker, rec)
    photo = JPEG * 40
    body, r = _declare(worker, rec["uuid"], photo)
    assert r.status_code == 200 and r.json["offset"] == 0
    half = len(photo) // 2
    assert _chunk(worker, body["uuid"], 0, photo[:half]).json["offset"] == half
    # the connection drops; the phone asks where to resume and a stale offset is refused with the right one
    assert worker[0].get(f"/api/field/photos/{body['uuid']}").json["offset"] == half
    assert _declare(worker, rec["uuid"], photo, uuid=body["uuid"])[1].json["offset"] == half
    stale = _chunk(worker, body["uuid"], 0, photo[:half])
    assert stale.status_code == 409 and str(half) in stale.json["error"]
    done = _chunk(worker, body["uuid"], half, photo[half:])
    assert done.json["status"] == "complete"
    assert q(world, "select status, mime, received from field_photo where uuid=?", body["uuid"]) == [
        ("complete", "image/jpeg", len(photo))]
    blob = b"".join(r[0] for r in q(world, "select c.data from field_photo_chunk c join field_photo p on "
                                           "p.id=c.photo_id where p.uuid=? order by c.position", body["uuid"]))
    assert blob == photo


def test_photos_refused_not_an_image_too_large_or_wrong_checksum(world, worker):
    rec = record()
    put(worker, rec)
    pdf = b"%PDF-1.4\n" + b"0" * 500  # named photo.jpg on the phone; the bytes say otherwise
    body, r = _declare(worker, rec["uuid"], pdf)
    refused = _chunk(worker, body["uuid"], 0, pdf)
    assert refused.status_code == 415 and "不是图片" in refused.json["error"]
    big = _declare(worker, rec["uuid"], b"x", size=50 * 1024 * 1024)[1]
    assert big.status_code == 413 and "50.0 MB" in big.json["error"] and "10.0 MB" in big.json["error"]
    body, _ = _declare(worker, rec["uuid"], JPEG, sha256="0" * 64)
    bad = _chunk(worker, body["uuid"], 0, JPEG)
    assert bad.status_code == 422 and "校验和" in bad.json["error"]
    assert q(world, "select received, status from field_photo where uuid=?", body["uuid"]) == [(0, "partial")]
    orphan = _declare(worker, str(uuidlib.uuid4()), JPEG)[1]
    assert orphan.status_code == 409 and "记录" in orphan.json["error"]


# -- the gate ---------------------------------------------------------------------------------------------------
def test_login_csrf_permission_and_app_version(world, app, worker):
    anon = app.server.test_client()
    assert anon.get("/api/field/grid").status_code == 401
    client, headers = worker
    rec = record()
    no_csrf = client.put(f"/api/field/records/{rec['uuid']}", json=dict(rec, sent_at="2026-11-26T08:00:00Z"),
                         headers={"Origin": ORIGIN, "X-Field-App": "3"})
    assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json["error"]
    old = client.put(f"/api/field/records/{rec['uuid']}", json=dict(rec, sent_at="2026-11-26T08:00:00Z"),
                     headers={**headers, "X-Field-App": "1"})
    assert old.status_code == 426 and "版本过旧" in old.json["error"]
    assert q(world, "select count(*) from field_record where uuid=?", rec["uuid"]) == [(0,)]
    county, _ = _client(app, "county_user")  # sees the county, but is no 网格员
    assert county.get("/api/field/grid").status_code == 403
    assert county.get("/m/").status_code == 403


def test_the_grid_data_is_the_workers_own_and_masked(world, worker):
    data = worker[0].get("/api/field/grid").json
    assert sorted(g["code"] for g in data["grids"]) == list(MINE)
    assert data["households"] and {h["grid_code"] for h in data["households"]} <= set(MINE)
    text = json.dumps(data, ensure_ascii=False)
    engine = make_engine(world, must_exist=True)
    with make_session_factory(engine)() as s:
        full = [h.address for h in s.scalars(select(Household).where(Household.grid_code.in_(MINE)))]
    engine.dispose()
    assert not any(a in text for a in full)
    assert "\\d{18}" not in text and not any(p["id_number"].isdigit() for h in data["households"]
                                               for p in h["persons"])


def test_the_phone_app_shell_and_service_worker_are_served_locally(worker):
    client, _ = worker
    shell = client.get("/m/")
    assert shell.status_code == 200 and "条待上传" in shell.get_data(as_text=True)
    assert "geolocation=(self)" in shell.headers["Permissions-Policy"]
    sw = client.get("/m/sw.js").get_data(as_text=True)
    assert "self.__WB_MANIFEST" not in sw and '"/m/static/app.js"' in sw
    for path in ("/m/static/vendor/workbox-sw.js", "/m/static/vendor/workbox-precaching.prod.js",
                 "/m/static/vendor/idb.umd.js", "/m/manifest.webmanifest"):
        assert client.get(path).status_code == 200, path


# -- forged bodies --------------------------------------------------------------------------------------------------
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids,
                                                                                       max_size=3), max_leaves=8)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(base=st.fixed_dictionaries({}, optional={k: json_values for k in (
    "uuid", "op_id", "kind", "base_version", "grid_code", "client_time", "location", "household_id", "fields")}))
def test_any_body_is_either_a_submission_or_a_chinese_refusal(base):
    try:
        parse_record(base)
    except FieldError as exc:
        assert exc.status in (400, 403, 409, 413, 415, 422) and any("\u4e00" <= ch <= "\u9fff" for ch in str(exc))


def test_a_database_locked_by_other_writers_answers_503_and_stores_nothing(world, worker, monkeypatch):
    from console.field import sync

    monkeypatch.setattr(sync, "BUSY_RETRIES", 0)
    rec, earlier = record(), record()
    put(worker, earlier)
    con = sqlite3.connect(world)
    con.execute("BEGIN IMMEDIATE")  # another writer holds the lock past the store's busy timeout
    try:
        r = put(worker, rec)
        photo = _declare(worker, earlier["uuid"], JPEG)[1]
    finally:
        con.rollback()
        con.close()
    assert r.status_code == 503 and "繁忙" in r.json["error"] and r.headers["Retry-After"] == "5"
    assert photo.status_code == 503
    assert q(world, "select count(*) from field_record where uuid=?", rec["uuid"]) == [(0,)]
    assert put(worker, rec).status_code == 201  # the phone's retry goes through


def test_what_a_worker_typed_about_people_is_encrypted_at_rest(world, worker):
    rec = record(kind="household", fields={"address": "紫阳县测试镇幸福路12号", "kind": "rental", "size": 2,
                                            "head_name": "钱七", "phone": "13987654321"})
    assert put(worker, rec).status_code == 201
    raw = sqlite3.connect(world)
    try:
        dump = "\n".join(raw.iterdump())
    finally:
        raw.close()
    assert "13987654321" not in dump and "钱七" not in dump and "幸福路12号" not in dump
    row, _ = stored(world, rec["uuid"])
    assert json.loads(row.payload)["fields"]["phone"] == "13987654321"


def test_the_phone_app_and_the_server_agree_on_the_app_version():
    import re
    from pathlib import Path

    from console.routes.field import APP_VERSION, MIN_APP_VERSION

    queue_js = (Path(__file__).resolve().parents[1] / "console/field/static/queue.js").read_text(encoding="utf-8")
    assert int(re.search(r"const APP_VERSION = (\d+);", queue_js).group(1)) == APP_VERSION >= MIN_APP_VERSION


def test_a_photo_declared_with_its_first_chunk(world, worker):
    client, headers = worker
    rec = record()
    put(worker, rec)
    photo = JPEG * 10

    def send(uid, offset, data, declare=True):
        extra = {"X-Record-UUID": rec["uuid"], "X-Photo-SHA256": hashlib.sha256(photo).hexdigest(),
                 "X-Photo-Size": str(len(photo))} if declare else {}
        return client.put(f"/api/field/photos/{uid}?offset={offset}", data=data,
                          headers={**headers, "Content-Type": "application/octet-stream", **extra})

    one = str(uuidlib.uuid4())
    assert send(one, 0, photo).json["status"] == "complete"  # a small photo: one request
    cut = str(uuidlib.uuid4())
    assert send(cut, 0, photo[:1000]).json["offset"] == 1000
    again = send(cut, 0, photo[:1000])  # the app retries from the start after the cut: told where to resume
    assert again.status_code == 409 and again.json["code"] == "offset"
    assert send(cut, 1000, photo[1000:], declare=False).json["status"] == "complete"
    fake = str(uuidlib.uuid4())
    r = client.put(f"/api/field/photos/{fake}?offset=0", data=b"GIF-but-not-really" * 20, headers={
        **headers, "Content-Type": "application/octet-stream", "X-Record-UUID": rec["uuid"], "X-Photo-Size": "360",
        "X-Photo-SHA256": "a" * 64})
    assert r.status_code == 415
    assert q(world, "select count(*) from field_photo where uuid=?", fake) == [(0,)]  # declaration rolled back too
