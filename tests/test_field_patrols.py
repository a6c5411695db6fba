"""Patrols, check-ins and follow-up visits from the phone (docs/field.md §7–8), over HTTP as a phone or a forger
sends them: stored into `patrol` / `patrol_checkin` / `followup_visit` exactly once however often replayed, coarse
GPS fixes kept out of the distance, another grid's household or special person refused by name."""

from __future__ import annotations

import sqlite3
import uuid as uuidlib
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from console.app import create_app
from console.config import Settings
from console.field import track
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings

WORKER = "xunchao"
MINE = ("610924100200001", "610924100200002")
NOT_MINE = "610924101200001"
SENT = "2026-11-26T08:00:00Z"  # the test clock's time (tests/sectest.py Clock)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("patrol") / "tiny.sqlite")
    add_account(path, WORKER, ["grid_worker"], list(MINE))
    add_account(path, "other_worker", ["grid_worker"], [NOT_MINE])
    add_account(path, "planner1", ["planner"], ["610924"])
    return path


@pytest.fixture(scope="module")
def app(world):
    return create_app(world, settings=Settings(warm_cache=False), security_settings=security_settings())


def _client(app, user):
    client = app.server.test_client()
    token = login_client(client, user)
    return client, {"X-CSRFToken": token, "Origin": ORIGIN, "X-Field-App": "3"}


@pytest.fixture(scope="module")
def worker(app):
    return _client(app, WORKER)


def q(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def rec(kind, fields, grid=None, household_id=None, location=None, uid=None, base=0,
        client_time="2026-11-26T07:30:00Z"):
    return {"uuid": uid or str(uuidlib.uuid4()), "op_id": str(uuidlib.uuid4()), "kind": kind, "base_version": base,
            "grid_code": grid, "client_time": client_time, "location": location, "household_id": household_id,
            "fields": fields}


def sync(client_headers, *records, sent_at=SENT):
    client, headers = client_headers
    r = client.post("/api/field/sync", json={"sent_at": sent_at, "records": list(records)}, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.json["results"]


def fix(lon, lat, acc, minute):
    return {"lon": lon, "lat": lat, "accuracy": acc, "t": f"2026-11-26T07:{minute:02d}:00Z"}


def household_in(db, grid):
    return q(db, "select id, code from household where grid_code=? order by id", grid)[0]


# -- pure: the track ------------------------------------------------------------------------------------------
def test_a_coarse_fix_is_kept_out_of_the_distance():
    t0 = datetime(2026, 11, 26, 7, 0)
    f = lambda lon, lat, acc, m: SimpleNamespace(lon=lon, lat=lat, accuracy=acc, t=t0 + timedelta(minutes=m))
    walk = [f(108.50, 32.50, 8, 0), f(108.51, 32.50, 12, 5), f(108.60, 32.60, 3000, 7), f(108.52, 32.50, None, 8),
            f(108.52, 32.50, 20, 10)]
    out = track.summarise(reversed(walk))  # order by time, not by arrival
    leg = track.haversine_m((108.50, 32.50), (108.51, 32.50))
    assert out.dropped == 2 and len(out.coords) == 3
    assert out.distance_m == pytest.approx(2 * leg, rel=1e-3)  # the 3,000 m fix would have added ~25 km
    assert 900 < leg < 1000  # 0.01° of longitude at 32.5° N ≈ 938 m


# -- patrols and check-ins ------------------------------------------------------------------------------------
def test_a_patrol_started_stopped_and_replayed_is_stored_once_with_its_checkins(world, worker):
    pid = str(uuidlib.uuid4())
    hid, _ = household_in(world, MINE[0])
    start = rec("patrol", {"started_at": "2026-11-26T07:00:00Z", "fixes": [fix(108.50, 32.50, 10, 0)]}, grid=MINE[0])
    start["uuid"] = pid
    checkin = rec("checkin", {"patrol_uuid": pid, "kind": "household"}, household_id=hid,
                  location={"lon": 108.5, "lat": 32.5, "accuracy": 15, "source": "gps"})
    stop = rec("patrol", {"started_at": "2026-11-26T07:00:00Z", "ended_at": "2026-11-26T07:40:00Z",
                          "fixes": [fix(108.50, 32.50, 10, 0), fix(108.51, 32.50, 10, 10),
                                    fix(108.70, 32.70, 3000, 20), fix(108.52, 32.50, 30, 30)]},
               grid=MINE[0], uid=pid, base=1)
    first = sync(worker, start, checkin, stop)
    assert [r["status"] for r in first] == ["created", "created", "updated"], first
    again = sync(worker, start, checkin, stop)  # the answer was lost: the phone sends the same batch again
    assert [r["status"] for r in again] == ["duplicate"] * 3
    rows = q(world, "select worker, started_at, ended_at, points, distance_m, grid_code, track from patrol "
                    "where uuid=?", pid)
    assert len(rows) == 1
    who, started, ended, points, distance, grid, line = rows[0]
    assert (who, started[:16], ended[:16], points, grid) == (WORKER, "2026-11-26 07:00", "2026-11-26 07:40", 3, MINE[0])
    assert distance == pytest.approx(2 * track.haversine_m((108.50, 32.50), (108.51, 32.50)), rel=1e-3)
    assert '"LineString"' in line and "108.7" not in line
    assert q(world, "select c.kind, c.household_id, c.accuracy_m from patrol_checkin c join patrol p "
                    "on p.id=c.patrol_id where p.uuid=?", pid) == [("household", hid, 15.0)]


def test_a_checkin_at_another_grids_household_is_refused_by_name(world, worker):
    hid, code = household_in(world, NOT_MINE)
    grid_name = q(world, "select name from grid where code=?", NOT_MINE)[0][0]
    pid = str(uuidlib.uuid4())
    out = sync(worker, rec("patrol", {"started_at": "2026-11-26T07:00:00Z"}, grid=MINE[0], uid=pid),
               rec("checkin", {"patrol_uuid": pid, "kind": "household"}, household_id=hid))
    assert out[0]["status"] == "created"
    assert out[1]["status"] == "rejected" and out[1]["code"] == "grid_not_yours"
    assert code in out[1]["error"] and grid_name in out[1]["error"] and NOT_MINE in out[1]["error"]
    assert q(world, "select count(*) from patrol_checkin where household_id=?", hid) == [(0,)]


def test_a_patrol_in_another_grid_is_refused_by_name(world, worker):
    grid_name = q(world, "select name from grid where code=?", NOT_MINE)[0][0]
    out = sync(worker, rec("patrol", {"started_at": "2026-11-26T07:00:00Z"}, grid=NOT_MINE))[0]
    assert out["status"] == "rejected" and out["code"] == "grid_not_yours"
    assert grid_name in out["error"] and NOT_MINE in out["error"]
    assert q(world, "select count(*) from patrol where grid_code=?", NOT_MINE) == [(0,)]


def test_a_checkin_at_a_key_place_and_refusals(world, worker, app):
    org_id, name = q(world, "select id, name from organisation where grid_code=?", MINE[1])[0]
    other_org, other_name = q(world, "select id, name from organisation where grid_code=?", NOT_MINE)[0]
    pid = str(uuidlib.uuid4())
    ok, theirs, no_place = sync(
        worker, rec("checkin", {"patrol_uuid": pid, "kind": "key_place", "place_id": org_id}),  # before its patrol
        rec("checkin", {"patrol_uuid": pid, "kind": "key_place", "place_id": other_org}),
        rec("checkin", {"patrol_uuid": pid, "kind": "key_place"}))
    assert ok["status"] == "created"
    assert theirs["status"] == "rejected" and other_name in theirs["error"]
    assert no_place["status"] == "rejected" and "重点场所" in no_place["error"]
    # the patrol's own record arrives later and fills the row the check-in made
    assert sync(worker, rec("patrol", {"started_at": "2026-11-26T06:50:00Z"}, grid=MINE[1], uid=pid))[0][
        "status"] == "created"
    assert q(world, "select count(*), min(worker) from patrol where uuid=?", pid) == [(1, WORKER)]
    assert q(world, "select c.place_id from patrol_checkin c join patrol p on p.id=c.patrol_id where p.uuid=?",
             pid) == [(org_id,)]
    # another worker cannot check in on this worker's patrol
    other = _client(app, "other_worker")
    hid, _ = household_in(world, NOT_MINE)
    out = sync(other, rec("checkin", {"patrol_uuid": pid, "kind": "household"}, household_id=hid))
    assert out[0]["status"] == "rejected" and out[0]["code"] == "patrol_not_yours"


def _key_place(db, code, name, grid):
    con = sqlite3.connect(db)
    try:
        cur = con.execute("insert into key_place (code, name, kind, risk_level, address, contact, synthetic, lon, lat,"
                          " county_code, town_code, village_code, grid_code) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                          (code, name, "school", "high", "", "", 0, 108.5, 32.5, grid[:6], grid[:9], grid[:12], grid))
        con.commit()
        return cur.lastrowid
    finally:
        con.close()


def test_checkins_at_public_safety_key_places_of_the_own_grid(world, worker):
    """公共安全 key places (docs/safety.md) travel with the grid's offline data and are check-in targets beside
    households and organisations; another grid's key place is refused by name."""
    mine = _key_place(world, "KP-T-1", "城关第一小学", MINE[0])
    theirs = _key_place(world, "KP-T-2", "河东加油站", NOT_MINE)
    client, _ = worker
    bundle = client.get("/api/field/grid").json
    assert [(p["id"], p["kind"], p["risk"]) for p in bundle["safety_places"]] == [(mine, "学校（校园周边）", "高风险")]
    assert bundle["places"] and bundle["checkin_kinds"]["safety_place"] == "公共安全重点场所"  # organisations kept
    pid = str(uuidlib.uuid4())
    ok, refused, missing = sync(
        worker, rec("checkin", {"patrol_uuid": pid, "kind": "safety_place", "place_id": mine}),
        rec("checkin", {"patrol_uuid": pid, "kind": "safety_place", "place_id": theirs}),
        rec("checkin", {"patrol_uuid": pid, "kind": "safety_place", "place_id": 999999}))
    assert ok["status"] == "created"
    assert refused["status"] == "rejected" and refused["code"] == "grid_not_yours" and "河东加油站" in refused["error"]
    assert missing["status"] == "rejected" and "不存在" in missing["error"]
    assert q(world, "select c.kind, c.place_id from patrol_checkin c join patrol p on p.id=c.patrol_id where p.uuid=?",
             pid) == [("safety_place", mine)]


def test_a_checkin_is_written_once(world, worker):
    pid = str(uuidlib.uuid4())
    hid, _ = household_in(world, MINE[0])
    c = rec("checkin", {"patrol_uuid": pid, "kind": "household"}, household_id=hid)
    assert sync(worker, c)[0]["status"] == "created"
    changed = dict(c, op_id=str(uuidlib.uuid4()), base_version=1)
    out = sync(worker, changed)[0]
    assert out["status"] == "rejected" and out["code"] == "write_once"


def test_patrol_bodies_that_are_wrong_get_chinese_refusals(worker):
    bad = [({"started_at": "2026-11-26T07:00:00Z", "ended_at": "2026-11-26T06:00:00Z"}, "结束时间"),
           ({"started_at": "2026-11-26T07:00:00Z", "fixes": [{"lon": 0, "lat": 0, "t": SENT}]}, "经度"),
           ({"started_at": "yesterday"}, "开始时间"),
           ({"started_at": "2026-11-26T07:00:00Z", "fixes": "everywhere"}, "轨迹")]
    for fields, word in bad:
        out = sync(worker, rec("patrol", fields, grid=MINE[0]))[0]
        assert out["status"] == "rejected" and word in out["error"], (fields, out)


# -- follow-up visits -----------------------------------------------------------------------------------------
def test_the_phone_lists_only_the_own_grids_special_population_masked(world, worker, app):
    client, headers = worker
    body = client.get("/api/field/followups", headers=headers).json
    mine = {r[0] for r in q(world, "select id from special_person where grid_code in (?, ?)", *MINE)}
    assert {r["id"] for r in body["records"]} == mine and mine
    full = {n for (n,) in q(world, "select p.name from person p join special_person s on s.person_id=p.id")}
    for r in body["records"]:
        assert r["name"] not in full and "*" in r["name"] and "*" in r["id_number"]
        assert r["status"] in ("overdue", "soon", "ok") and r["due"] and r["cycle_days"] > 0
    assert body["methods"]["visit"] == "入户走访"
    planner, ph = _client(app, "planner1")  # no field:sync
    assert planner.get("/api/field/followups", headers=ph).status_code == 403


def test_a_visit_synced_twice_is_one_followup_row_and_moves_the_due_date(world, worker):
    client, headers = worker
    before = {r["id"]: r for r in client.get("/api/field/followups", headers=headers).json["records"]}
    sp = next(iter(before))
    v = rec("followup", {"special_person_id": sp, "visited_on": "2026-11-26", "method": "visit", "note": "情绪稳定"})
    assert sync(worker, v)[0]["status"] == "created"
    assert sync(worker, v)[0]["status"] == "duplicate"
    assert q(world, "select visited_on, method, worker, note from followup_visit where special_person_id=?", sp) == [
        ("2026-11-26", "visit", WORKER, "情绪稳定")]
    after = {r["id"]: r for r in client.get("/api/field/followups", headers=headers).json["records"]}
    assert after[sp]["last"] == "2026-11-26" and after[sp]["days_left"] > before[sp]["days_left"]


def test_visits_outside_the_grid_or_with_a_wrong_date_or_method_are_refused(world, worker):
    theirs = q(world, "select id from special_person where grid_code=?", NOT_MINE)[0][0]
    mine = q(world, "select id from special_person where grid_code=?", MINE[0])[0][0]
    grid_name = q(world, "select name from grid where code=?", NOT_MINE)[0][0]
    cases = [({"special_person_id": theirs, "visited_on": "2026-11-25", "method": "visit"}, grid_name),
             ({"special_person_id": mine, "visited_on": "2026-12-20", "method": "visit"}, "晚于今天"),
             ({"special_person_id": mine, "visited_on": "2024-01-01", "method": "visit"}, "一年前"),
             ({"special_person_id": mine, "visited_on": "2026-11-25", "method": "letter"}, "随访方式"),
             ({"special_person_id": 10 ** 8, "visited_on": "2026-11-25", "method": "visit"}, "不存在")]
    n = q(world, "select count(*) from followup_visit")[0][0]
    for fields, word in cases:
        out = sync(worker, rec("followup", fields))[0]
        assert out["status"] == "rejected" and word in out["error"], (fields, out)
    assert q(world, "select count(*) from followup_visit")[0][0] == n
