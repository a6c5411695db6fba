"""Flask routes: layer GeoJSON by URL, permission and scope checks, popups, basemap, the app factory."""

from __future__ import annotations

import gzip
import json
import sqlite3

import pytest

from console.app import create_app
from console.config import Settings
from console.routes import layers as routes
from console.services import permissions as perm
from console.services.viewer import Viewer
from console.store import AreaScope, StoreError
from tests.browser.tinyworld import build
from tests.security_login import ORIGIN, add_account, login_client, security_settings


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("tiny") / "tiny.sqlite")
    add_account(path, "city_user")  # the old demo viewer's rights: city-wide, everything but unmask
    return path


@pytest.fixture(scope="module")
def app(db):
    return create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())


@pytest.fixture(scope="module")
def client(app):
    c = app.server.test_client()
    login_client(c, "city_user")
    return c


def audit_rows(db, actor, action):
    con = sqlite3.connect(db)
    try:
        return con.execute("select object, result from audit_log where actor=? and action=? order by id",
                           (actor, action)).fetchall()
    finally:
        con.close()


def as_viewer(monkeypatch, permissions=perm.ALL, scope=None):
    viewer = Viewer("t", "测试", (), frozenset(permissions), scope or AreaScope.city())
    monkeypatch.setattr(routes, "current_viewer", lambda: viewer)


def get_json(client, url, **kw):
    r = client.get(url, **kw)
    body = gzip.decompress(r.data) if r.headers.get("Content-Encoding") == "gzip" else r.data
    return r, json.loads(body)


def test_page_and_basemap_served(client):
    assert client.get("/").status_code == 200
    r, data = get_json(client, "/api/basemap/outline.geojson", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and data["type"] == "FeatureCollection"
    assert client.get("/api/basemap/SOURCES.geojson").status_code == 404  # only the named context layers
    r = client.get("/api/basemap/..%2F..%2Fpyproject.geojson")
    assert "geo+json" not in r.headers["Content-Type"] and b"setuptools" not in r.data


def test_area_layer_lists_children(client):
    r, data = get_json(client, "/api/layers/areas.geojson?area=610924")
    assert r.status_code == 200
    assert sorted(f["properties"]["name"] for f in data["features"]) == ["紫阳第1镇", "紫阳第2镇"]


def test_unknown_area_and_layer_are_refused_with_message(client):
    r, data = get_json(client, "/api/layers/areas.geojson?area=<script>")
    assert r.status_code == 404 and "未找到" in data["error"] and "<script>" not in data["error"]
    assert client.get("/api/layers/nope.geojson?area=610900").status_code == 404


def test_layer_permission_is_checked(client, monkeypatch):
    as_viewer(monkeypatch, perm.ALL - {perm.LAYER_SPECIAL})
    r, data = get_json(client, "/api/layers/special.geojson?area=610924")
    assert r.status_code == 403 and data["error"] == "无权查看该图层"
    assert client.get("/api/layers/special/1").status_code == 403
    assert client.get("/api/layers/disputes.geojson?area=610924").status_code == 200


def test_layer_scope_is_checked(client, monkeypatch):
    as_viewer(monkeypatch, scope=AreaScope.of(["610925"]))
    r, data = get_json(client, "/api/layers/special.geojson?area=610924100")
    assert r.status_code == 403 and "无权" in data["error"]
    r, data = get_json(client, "/api/layers/special.geojson?area=610900")  # city view: only own county's bubble
    assert r.status_code == 200 and {f["properties"]["area"] for f in data["features"]} == {"岚皋县"}


def test_popup_detail_scoped_and_masked(client, db, monkeypatch):
    con = sqlite3.connect(db)
    (in_id,) = con.execute("select id from dispute where county_code='610925' limit 1").fetchone()
    (out_id,) = con.execute("select id from dispute where county_code='610924' limit 1").fetchone()
    con.close()
    as_viewer(monkeypatch, scope=AreaScope.of(["610925"]))
    r, data = get_json(client, f"/api/layers/disputes/{in_id}")
    assert r.status_code == 200 and dict(data["rows"])["事项"].startswith("<b>")  # raw text; the JS escapes it
    assert client.get(f"/api/layers/disputes/{out_id}").status_code == 403
    assert client.get("/api/layers/disputes/999999999").status_code == 404


def test_large_responses_are_gzipped(client):
    r = client.get("/api/basemap/cities.geojson", headers={"Accept-Encoding": "gzip, deflate"})
    assert r.headers["Content-Encoding"] == "gzip" and len(r.data) < 0.5 * len(gzip.decompress(r.data))


def test_missing_and_foreign_databases_are_refused_in_chinese(tmp_path):
    with pytest.raises(StoreError, match="数据库文件不存在"):
        create_app(str(tmp_path / "missing.sqlite"))
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    with pytest.raises(StoreError, match="数据库为空"):
        create_app(str(tmp_path / "empty.sqlite"))


def test_two_apps_in_one_process_both_work(db):
    a = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())
    b = create_app(db, settings=Settings(warm_cache=False, tile_url="http://intranet.example/{z}/{x}/{y}.png"),
                   security_settings=security_settings())
    for app in (a, b):
        c = app.server.test_client()
        login_client(c, "city_user")
        assert c.get("/").status_code == 200
        r = c.get("/_dash-layout")
        assert r.status_code == 200
        deps = c.get("/_dash-dependencies").json
        assert any("ov-kpis" in d["output"] for d in deps)


# -- the security gate on the real console (issue 7) ------------------------------------------------------------
def test_anonymous_page_redirects_to_login(app):
    c = app.server.test_client()
    r = c.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    r = c.get("/disputes", headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert c.get("/login").status_code == 200


def test_anonymous_callbacks_and_api_are_refused(app):
    c = app.server.test_client()
    r = c.post("/_dash-update-component", json={"output": "ov-kpis.children", "outputs": {"id": "ov-kpis",
               "property": "children"}, "inputs": [{"id": "ov-area", "property": "data", "value": "610900"}]},
               headers={"Origin": ORIGIN})
    assert r.status_code == 401
    assert c.get("/_dash-layout").status_code == 401
    assert c.get("/api/layers/special.geojson?area=610900").status_code == 401
    assert c.get("/api/layers/special/1").status_code == 401


def test_logged_in_callback_needs_csrf(app):
    c = app.server.test_client()
    csrf = login_client(c, "city_user")
    body = {"output": "ov-kpis.children", "outputs": {"id": "ov-kpis", "property": "children"},
            "inputs": [{"id": "ov-area", "property": "data", "value": "610924"}], "changedPropIds": ["ov-area.data"]}
    assert c.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN}).status_code == 403
    r = c.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


def test_town_user_cannot_read_another_towns_layer_or_popup(app, db):
    con = sqlite3.connect(db)
    towns = [c for (c,) in con.execute("select code from area where level='town' order by code")]
    mine, other = towns[0], next(t for t in towns if not t.startswith(towns[0]))
    (out_id,) = con.execute("select id from special_person where town_code=? limit 1", (other,)).fetchone()
    in_row = con.execute("select id from special_person where town_code=? limit 1", (mine,)).fetchone()
    con.close()
    add_account(db, "town_user", ["town"], [mine])
    c = app.server.test_client()
    login_client(c, "town_user")
    before = len(audit_rows(db, "town_user", "access.denied"))
    r, data = get_json(c, f"/api/layers/special.geojson?area={other}")
    assert r.status_code == 403 and "无权" in data["error"]
    r = c.get(f"/api/layers/special/{out_id}")
    assert r.status_code == 403 and str(out_id).encode() not in r.data
    denied = audit_rows(db, "town_user", "access.denied")
    assert len(denied) == before + 2 and all(res == "refused" for _, res in denied[before:])
    assert any(other in obj for obj, _ in denied[before:]) and any(f"special:{out_id}" in obj for obj, _ in denied)
    # inside the scope: served and audited; masked even for the town role that may unmask (unmasking is a
    # separate, per-record request: console/services/unmask.py), so no unmask row either
    r, _ = get_json(c, f"/api/layers/special.geojson?area={mine}")
    assert r.status_code == 200
    if in_row:
        r, data = get_json(c, f"/api/layers/special/{in_row[0]}")
        assert r.status_code == 200 and data["rows"]
        assert (f"special:{in_row[0]}", "granted") in audit_rows(db, "town_user", "record.view")
        assert not any(obj == f"special:{in_row[0]}" for obj, _ in audit_rows(db, "town_user", "unmask"))


def test_popup_reads_are_audited_and_masked_without_unmask(client, db):
    con = sqlite3.connect(db)
    (pid,) = con.execute("select id from special_person limit 1").fetchone()
    con.close()
    r, data = get_json(client, f"/api/layers/special/{pid}")
    assert r.status_code == 200
    assert (f"special:{pid}", "granted") in audit_rows(db, "city_user", "record.view")
    assert not any(obj == f"special:{pid}" for obj, _ in audit_rows(db, "city_user", "unmask"))
