"""Map popups that list people, through the secured app (routes/popups.py): a grid's workers (phones masked) and
counts, a building's households and residents (以房管人, masked); scope and permission refused and audited;
each answer audited. Plus the 热点网格 ranking, pure."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

import pytest

from console.app import create_app
from console.config import Settings
from console.disputes import hotgrids
from console.disputes.stats import Period
from tests.browser.tinyworld import build
from tests.security_login import add_account, login_client, security_settings

FULL_ID = re.compile(r"\b\d{17}[\dX]\b")
FULL_PHONE = re.compile(r"\b1\d{10}\b")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("tiny") / "tiny.sqlite")
    add_account(path, "pop_city")  # county role, city-wide: persons masked, no unmask
    add_account(path, "pop_langao", scope=("610925",))
    add_account(path, "pop_leader", roles=("city_leader",))  # no persons, no alerts
    add_account(path, "pop_wall", roles=("wall_display",))
    return path


@pytest.fixture(scope="module")
def app(db):
    return create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())


def client_for(app, user):
    c = app.server.test_client()
    login_client(c, user)
    return c


def one(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchone()
    finally:
        con.close()


def audit(db, actor):
    con = sqlite3.connect(db)
    try:
        return con.execute("select action, object, result from audit_log where actor=? order by id", (actor,)).fetchall()
    finally:
        con.close()


def worker(db, grid) -> tuple[str, str]:
    """The grid's first worker's name and phone, through the store (phones are encrypted at rest)."""
    from sqlalchemy import select

    from console.store import GridWorker, make_engine, make_session_factory

    engine = make_engine(db, must_exist=True)
    try:
        with make_session_factory(engine)() as s:
            w = s.scalars(select(GridWorker).where(GridWorker.grid_code == grid).order_by(GridWorker.id)).first()
            return w.name, w.phone
    finally:
        engine.dispose()


def text_of(body: dict) -> str:
    rows = body["rows"] + [r for s in body.get("sections", []) for r in s["rows"]]
    return " ".join(str(c) for r in rows for c in r[:2]) + " ".join(s["title"] for s in body.get("sections", []))


def test_grid_popup_lists_workers_with_masked_phones_and_counts(app, db):
    grid = one(db, "select code from grid where code like '610924%' order by code")[0]
    r = client_for(app, "pop_city").get(f"/api/popup/grid/{grid}")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["title"] == one(db, "select name from grid where code=?", grid)[0]
    rows = dict((row[0], row[1]) for row in body["rows"])
    assert rows["户数"] == str(one(db, "select count(*) from household where grid_code=?", grid)[0])
    assert rows["实有人口"] == str(one(db, "select count(*) from person where grid_code=?", grid)[0])
    assert "紫阳县" in rows["所在"]  # by name, not by code
    workers = body["sections"][0]["rows"]
    name, phone = worker(db, grid)
    assert workers and workers[0][1].startswith(name) and phone not in workers[0][1]
    assert re.search(r"\d{3}\*{4}\d{4}", workers[0][1]) and not FULL_PHONE.search(text_of(body))
    assert workers[0][2] == {"kind": "worker", "id": workers[0][2]["id"], "field": "phone"}  # 「显示」 via /api/unmask
    assert ("record.view", f"grid:{grid}:workers", "granted") in audit(db, "pop_city")


def test_grid_popup_outside_scope_is_refused_and_audited(app, db):
    grid = one(db, "select code from grid where code like '610924%' order by code")[0]
    r = client_for(app, "pop_langao").get(f"/api/popup/grid/{grid}")
    assert r.status_code == 403 and "workers" not in r.get_data(as_text=True)
    assert any(a == "access.denied" and grid in o for a, o, _ in audit(db, "pop_langao"))
    assert client_for(app, "pop_city").get("/api/popup/grid/61092<script>").status_code in (400, 404)
    assert client_for(app, "pop_city").get("/api/popup/grid/610924999999999").status_code == 404


def test_grid_popup_without_person_rights_has_counts_but_no_workers(app, db):
    grid = one(db, "select code from grid where code like '610924%' order by code")[0]
    body = client_for(app, "pop_leader").get(f"/api/popup/grid/{grid}").get_json()
    assert body["rows"] and body["sections"] == []
    assert client_for(app, "pop_wall").get(f"/api/popup/grid/{grid}").status_code == 403  # the wall sees no records


def test_building_popup_lists_households_and_residents_masked(app, db):
    bid, grid = one(db, "select id, grid_code from building where grid_code like '610924%' order by id")
    r = client_for(app, "pop_city").get(f"/api/popup/building/{bid}")
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    households = one(db, "select count(*) from household where building_id=?", bid)[0]
    persons = one(db, "select count(*) from person p join household h on h.id=p.household_id where h.building_id=?",
                  bid)[0]
    assert f"{households} 户 / {persons} 人" in text_of(body)
    assert len(body["sections"]) == households
    member_rows = [row for s in body["sections"] for row in s["rows"]]
    assert len(member_rows) == persons
    full_name, id_number = one(db, "select p.name, p.id_number from person p join household h on h.id=p.household_id"
                                   " where h.building_id=? order by p.id", bid)
    text = text_of(body)
    assert full_name not in text and not FULL_ID.search(text)
    assert any(row[1].startswith(full_name[0] + "*") for row in member_rows)
    assert all(row[2]["kind"] == "person" and row[2]["field"] == "id_number" for row in member_rows)
    assert ("record.view", f"building:{bid}", "granted") in audit(db, "pop_city")


def test_building_popup_scope_permission_and_unknown(app, db):
    bid = one(db, "select id from building where grid_code like '610924%' order by id")[0]
    assert client_for(app, "pop_langao").get(f"/api/popup/building/{bid}").status_code == 403
    assert any(a == "access.denied" and o == f"building:{bid}" for a, o, _ in audit(db, "pop_langao"))
    assert client_for(app, "pop_leader").get(f"/api/popup/building/{bid}").status_code == 403  # no view:persons
    missing = client_for(app, "pop_city").get("/api/popup/building/99999999")
    assert missing.status_code == 403 and missing.get_json()["error"] == "记录不存在或无权查看"  # no existence oracle


def test_household_popup_links_to_its_building_only_for_person_viewers(app, db):
    hid, bid = one(db, "select id, building_id from household where grid_code like '610924%' order by id")
    body = client_for(app, "pop_city").get(f"/api/layers/population/{hid}").get_json()
    assert body["more"]["url"] == f"/api/popup/building/{bid}"
    assert "more" not in client_for(app, "pop_leader").get(f"/api/layers/population/{hid}").get_json()


def test_hot_grids_rank_and_change():
    rows = hotgrids.rank({"g1": 5, "g2": 5, "g3": 1, "g4": 7, None: 9}, {"g1": 5, "g2": 1})
    assert [r["code"] for r in rows] == ["g4", "g2", "g1"]  # most first; a tie: the larger rise first; 1 is no spot
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [(r["before"], r["change"]) for r in rows] == [(0, 7), (1, 4), (5, 0)]
    assert [hotgrids.change_text(r["change"], r["before"]) for r in rows] == ["+7（新出现）", "+4", "持平"]
    assert hotgrids.change_text(-2, 5) == "−2"
    assert len(hotgrids.rank({f"g{i}": 3 for i in range(50)}, {})) == hotgrids.LIMIT
    p = Period(date(2026, 3, 1), date(2026, 3, 31))
    assert hotgrids.previous(p) == Period(date(2026, 1, 29), date(2026, 2, 28))


def test_hot_grids_are_named_scoped_and_located(small_world_engine):
    from console.store import AreaScope, make_session_factory

    period = Period(date(2025, 11, 1), date(2026, 10, 31))
    with make_session_factory(small_world_engine)() as s:
        rows = hotgrids.hot_grids(s, AreaScope.city(), period)
        assert rows and all(r["count"] >= hotgrids.MIN_COUNT for r in rows)
        assert [r["count"] for r in rows] == sorted((r["count"] for r in rows), reverse=True)
        assert all(r["grid"] != r["code"] and r["village"] and r["town"] and r["county"] for r in rows)
        assert all(r["bounds"][0][0] < r["bounds"][1][0] and r["bounds"][0][1] < r["bounds"][1][1] for r in rows)
        county = rows[0]["code"][:6]
        scoped = hotgrids.hot_grids(s, AreaScope.of([county]), period)
        assert scoped and all(r["code"].startswith(county) for r in scoped)
