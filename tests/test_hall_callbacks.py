"""The command hall's callbacks answer forged input in Chinese, never with an HTTP 500, and never beyond the
viewer's permissions: a forged area or range for the replay, a forged kind for the heat map, a search by a
person's name from the wall (no people), a search by someone outside the scope (nothing)."""

from __future__ import annotations

import json

import pytest

from console.app import create_app
from console.config import Settings
from tests.browser.tinyworld import build
from tests.security_login import add_account, login_client, security_settings
from tests.test_security_leaks import callback_key, post_callback


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = build(tmp_path_factory.mktemp("hallcb") / "tiny.sqlite")
    for name, roles, scope in (("cb_county", ["county"], ["610924"]), ("cb_wall", ["wall_display"], ["610900"]),
                               ("cb_lan", ["county"], ["610925"])):
        add_account(db, name, roles, scope)
    import sqlite3

    con = sqlite3.connect(db)
    person = con.execute("select name, grid_code from person where grid_code like '610924%' limit 1").fetchone()
    con.close()
    a = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())
    a.test_person = person
    return a


def _client(app, name):
    c = app.server.test_client()
    csrf = login_client(c, name)
    c.get("/", headers={"Accept": "text/html"})
    return c, csrf


def _inputs(*pairs):
    return [{"id": cid, "property": prop, "value": value} for cid, prop, value in pairs]


def _replay(app, c, csrf, first, last, step="24", area="610924", position=0):
    key = callback_key(app, "replay.show")
    return post_callback(c, csrf, key, _inputs(("rp-slider", "value", position), ("rp-first", "value", first),
                                                ("rp-last", "value", last), ("rp-step", "value", step),
                                                ("rp-cumulative", "value", []), ("rp-area", "value", area)))


def _text(r) -> str:
    return json.dumps(r.get_json(), ensure_ascii=False)


def test_forged_replay_input_is_answered_in_words(app):
    c, csrf = _client(app, "cb_county")
    ok = _replay(app, c, csrf, "2026-11-20", "2026-11-20")
    assert ok.status_code == 200 and "代网格" in _text(ok)
    for args, words in [(("2026-11-21", "2026-11-20"), "结束日期早于开始日期"), (("x", "y"), "日期格式不正确"),
                        (("2026-01-01", "2026-12-31"), "回放范围最长"), (("2026-11-20", "2026-11-20", "5"), "回放步长")]:
        r = _replay(app, c, csrf, *args)
        assert r.status_code == 200 and words in _text(r), (args, _text(r))
    r = _replay(app, c, csrf, "2026-11-20", "2026-11-20", area="610925")  # another county than the account's
    assert r.status_code == 200 and "请选择列表中的区域" in _text(r)
    r = _replay(app, c, csrf, "2026-11-20", "2026-11-20", position=10**9)  # clamped, not an error
    assert r.status_code == 200 and "代网格" in _text(r)


def test_forged_heat_kind_is_refused_in_words(app):
    c, csrf = _client(app, "cb_county")
    key = callback_key(app, "analysis.show_heat")
    r = post_callback(c, csrf, key, _inputs(("an-kind", "value", "persons"), ("an-period", "value", "30")))
    assert r.status_code == 200 and "无法显示" in _text(r)
    r = post_callback(c, csrf, key, _inputs(("an-kind", "value", "disputes"), ("an-period", "value", "30")))
    assert r.status_code == 200 and "reset" in _text(r)


def _search(app, c, csrf, text):
    key = callback_key(app, "_search.run_search")
    return post_callback(c, csrf, key, _inputs(("search-go", "n_clicks", 1), ("search-text", "n_submit", 0)),
                         state=[{"id": "search-text", "property": "value", "value": text}])


def test_search_respects_permissions_and_scope(app):
    name, grid = app.test_person
    c, csrf = _client(app, "cb_county")
    r = _search(app, c, csrf, name)
    assert r.status_code == 200 and "人员" in _text(r) and name not in _text(r)  # found, masked
    wall, wcsrf = _client(app, "cb_wall")
    r = _search(app, wall, wcsrf, name)
    assert r.status_code == 200 and "人员" not in _text(r)  # the wall sees no people
    other, ocsrf = _client(app, "cb_lan")
    r = _search(app, other, ocsrf, name)
    assert r.status_code == 200 and "人员" not in _text(r)  # outside the scope: nothing
    for bad in ["", "张%", "x" * 60]:
        r = _search(app, c, csrf, bad)
        assert r.status_code == 200 and "search-note" in _text(r)


def test_search_finds_cameras_and_addresses_in_scope(app):
    import sqlite3

    c, csrf = _client(app, "cb_county")
    from console.services.context import CONTEXT_KEY

    db = app.server.config[CONTEXT_KEY].engine.url.database
    con = sqlite3.connect(db)
    camera = con.execute("select device_id, grid_code from camera where county_code='610924' limit 1").fetchone()
    address, agrid = con.execute("select address, grid_code from building where county_code='610924' limit 1").fetchone()
    con.close()
    r = _search(app, c, csrf, camera[0])
    assert "摄像头" in _text(r) and camera[1] in _text(r)  # the hit drills to the camera's grid
    r = _search(app, c, csrf, address)
    assert "地址" in _text(r) and agrid in _text(r)
    other, ocsrf = _client(app, "cb_lan")
    assert "摄像头" not in _text(_search(app, other, ocsrf, camera[0]))  # another county's camera: nothing
