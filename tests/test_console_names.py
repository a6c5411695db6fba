"""Names instead of codes, Beijing time, and the duty desk's pure helpers (no browser)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from console.duty import actions, desk
from console.store import names
from console.services.clock import beijing
from console.store import make_engine, make_session_factory


def test_beijing_time_from_stored_utc():
    assert beijing(datetime(2026, 12, 5, 23, 30)) == "2026-12-06 07:30"
    assert beijing(datetime(2026, 12, 5, 23, 30, tzinfo=timezone.utc), "%H:%M") == "07:30"
    assert beijing(None) == ""


def test_allowed_actions_follow_the_transition_table():
    for state in ("new", "acknowledged", "dispatched", "escalated", "resolved", "false_alarm", None, "bogus"):
        allowed = desk.allowed_actions(state)
        for key in actions.ACTIONS:
            try:
                actions.check(key, state, "说明")
                ok = True
            except actions.ActionError:
                ok = False
            assert (key in allowed) == ok, (state, key)
    assert desk.allowed_actions("resolved") == frozenset()


def test_reporter_text_from_payloads_of_other_systems():
    assert desk.reporter_text('{"text": " 群众反映噪音扰民 "}') == "群众反映噪音扰民"
    assert desk.reporter_text({"description": "占道经营"}) == "占道经营"
    assert desk.reporter_text('{"text": 5, "note": ""}') is None
    assert desk.reporter_text("not json") is None
    assert desk.reporter_text('["a list"]') is None
    assert desk.reporter_text(None) is None


def test_names_for_every_level_and_path_names(small_world_db):
    con = sqlite3.connect(small_world_db)
    grid, gname, village = con.execute("select code, name, village_code from grid where generation_high is null"
                                       " order by code limit 1").fetchone()
    vname = con.execute("select name from area where code=?", (village,)).fetchone()[0]
    county = con.execute("select name from area where code=?", (village[:6],)).fetchone()[0]
    con.close()
    with make_session_factory(make_engine(small_world_db))() as s:
        known = names.names(s, [grid, village, "610900", "999999", None])
        assert known == {grid: gname, village: vname, "610900": "安康市"}
        assert names.label(known, "999999") == "999999" and names.label(known, None) == ""
        full = names.path_names(s, [village])[village]
        assert full.startswith(county) and full.endswith(vname)


def test_popups_say_where_by_name_not_code(small_world_db):
    """Every point layer's popup: 所在 (county town village) and 网格 as names; no area code anywhere."""
    import re

    from console.store import AreaScope
    from console.services.layers import LAYERS

    con = sqlite3.connect(small_world_db)
    pid, grid, village = con.execute("select id, grid_code, village_code from special_person"
                                     " where grid_code is not null limit 1").fetchone()
    gname = con.execute("select name from grid where code=? and generation_high is null", (grid,)).fetchone()[0]
    vname = con.execute("select name from area where code=?", (village,)).fetchone()[0]
    con.close()
    with make_session_factory(make_engine(small_world_db))() as s:
        rows = dict(r[:2] for r in LAYERS["special"].detail(s, AreaScope.city(), pid))
    assert rows["网格"] == gname and rows["所在"].endswith(vname)
    assert not any(re.search(r"\d{6,}", str(v)) for v in rows.values())
