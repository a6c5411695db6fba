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


def area_callback_body(app, area: str, trigger: str = "ov-area.data") -> dict:
    """The body dash-renderer posts for the overview's area callback (the one that outputs the KPI panel)."""
    from console.services.layers import OVERLAY_KEYS

    with app.server.test_request_context():
        deps = app._callback_list if hasattr(app, "_callback_list") else []
    dep = next(d for d in deps if "ov-kpis-html.data" in d["output"])
    overlays = [{"id": {"type": "ov-overlay", "key": k}, "property": p} for k in OVERLAY_KEYS for p in ("url",)]
    values = {"ov-area": area, "ov-layer-switch": ["areas", "special"], "app-theme": "light",
              "ov-choro-mode": "residents"}
    inputs = [{"id": i["id"], "property": i["property"], "value": values[i["id"]]} for i in dep["inputs"]]
    state = [{"id": "ov-layer-areas", "property": "hideout", "value": None},
             [{"id": {"type": "ov-overlay", "key": k}, "property": "hideout", "value": None} for k in OVERLAY_KEYS]]
    outputs = []
    for spec in dep["output"].strip(".").split("..."):
        cid, prop = spec.rsplit(".", 1)
        if cid.startswith("{"):
            outputs.append([dict(o, property=prop) for o in overlays])
        else:
            outputs.append({"id": cid, "property": prop})
    return {"output": dep["output"], "outputs": outputs, "inputs": inputs, "state": state,
            "changedPropIds": [trigger]}


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
    # the city is wider than the scope: no city-wide figures, a message instead (docs/security.md §2)
    r, data = get_json(client, "/api/layers/special.geojson?area=610900")
    assert r.status_code == 404 and "超出您的数据范围" in data["error"]
    r, data = get_json(client, "/api/layers/special.geojson?area=610925")
    assert r.status_code == 200


def test_popup_detail_scoped_and_masked(client, db, monkeypatch):
    con = sqlite3.connect(db)
    (in_id,) = con.execute("select id from dispute where county_code='610925' limit 1").fetchone()
    (out_id,) = con.execute("select id from dispute where county_code='610924' limit 1").fetchone()
    con.close()
    as_viewer(monkeypatch, scope=AreaScope.of(["610925"]))
    r, data = get_json(client, f"/api/layers/disputes/{in_id}")
    assert r.status_code == 200 and dict(data["rows"])["事项"].startswith("<b>")  # raw text; the JS escapes it
    assert client.get(f"/api/layers/disputes/{out_id}").status_code == 403
    unknown = client.get("/api/layers/disputes/999999999")  # answers like a record outside the scope
    assert unknown.status_code == 403 and unknown.get_json() == client.get(f"/api/layers/disputes/{out_id}").get_json()


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
        assert any("ov-kpis-html" in d["output"] for d in deps)


# -- the security gate on the real console ------------------------------------------------------------
def test_anonymous_page_redirects_to_login(app):
    c = app.server.test_client()
    r = c.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    r = c.get("/disputes", headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert c.get("/login").status_code == 200


def test_anonymous_callbacks_and_api_are_refused(app):
    c = app.server.test_client()
    r = c.post("/_dash-update-component", json=area_callback_body(app, "610900"), headers={"Origin": ORIGIN})
    assert r.status_code == 401
    assert c.get("/_dash-layout").status_code == 401
    assert c.get("/api/layers/special.geojson?area=610900").status_code == 401
    assert c.get("/api/layers/special/1").status_code == 401


def test_logged_in_callback_needs_csrf(app):
    c = app.server.test_client()
    csrf = login_client(c, "city_user")
    body = area_callback_body(app, "610924")
    assert c.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN}).status_code == 403
    r = c.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


def test_one_drill_step_is_one_callback_with_polygons_and_kpis_inline(app, db):
    """A drill step costs one round trip: the area polygons and the KPI panel come back with the map state."""
    c = app.server.test_client()
    csrf = login_client(c, "city_user")
    r = c.post("/_dash-update-component", json=area_callback_body(app, "610924"),
               headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    body = gzip.decompress(r.data) if r.headers.get("Content-Encoding") == "gzip" else r.data
    out = json.loads(body)["response"]
    assert out["ov-resolved"]["data"] == "610924"
    polygons = out["ov-layer-areas"]["data"]["features"]
    con = sqlite3.connect(db)
    towns = sorted(n for (n,) in con.execute("select name from area where parent_code='610924'"))
    residents = con.execute("select count(*) from person where county_code='610924'").fetchone()[0]
    con.close()
    assert sorted(f["properties"]["name"] for f in polygons) == towns
    assert all(f["properties"]["parent"] == "610924" for f in polygons)
    assert "url" not in out["ov-layer-areas"]  # no second request for the polygons
    # the point layers' URLs (in OVERLAY_KEYS order), set on the map after the step is painted
    from console.services.layers import OVERLAY_KEYS

    urls = dict(zip(OVERLAY_KEYS, out["ov-overlay-urls"]["data"]))
    assert urls["special"] == "/api/layers/special.geojson?area=610924" and urls["cameras"] is None
    assert f"{residents:,}" in out["ov-kpis-html"]["data"]
    # the layer switch alone does not re-send polygons or KPIs
    r = c.post("/_dash-update-component", json=area_callback_body(app, "610924", trigger="ov-layer-switch.value"),
               headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    out = json.loads(gzip.decompress(r.data) if r.headers.get("Content-Encoding") == "gzip" else r.data)["response"]
    assert "data" not in out.get("ov-layer-areas", {}) and "ov-kpis-html" not in out


def test_polygons_inline_need_the_areas_layer_permission(app):
    from console.services import views
    from console.services.areas import get_node
    from console.services.context import CONTEXT_KEY

    ctx = app.server.config[CONTEXT_KEY]
    with ctx.session() as s:
        node = get_node(s, "610924")
    allowed = Viewer("t", "测试", (), frozenset(perm.ALL), AreaScope.city())
    denied = Viewer("t2", "测试", (), frozenset(perm.ALL - {perm.LAYER_AREAS}), AreaScope.city())
    assert len(views.layer_json(ctx, allowed, "areas", node)["features"]) == 2
    assert views.layer_json(ctx, denied, "areas", node)["features"] == []


def test_kpis_and_layers_are_shared_by_scope_and_counties_warmed(app):
    """Same scope, different permissions: one cached result (the permission is checked before the cache)."""
    from console.services import views
    from console.services.areas import get_node
    from console.services.context import CONTEXT_KEY

    ctx = app.server.config[CONTEXT_KEY]
    ctx.kpi_cache.clear()
    ctx.geo_cache.clear()
    with ctx.session() as s:
        city, county = get_node(s, "610900"), get_node(s, "610924")
    leader = Viewer("a", "甲", (), frozenset(perm.ALL), AreaScope.city())
    clerk = Viewer("b", "乙", (), frozenset({perm.VIEW_KPI, perm.LAYER_SPECIAL}), AreaScope.city())
    other = Viewer("c", "丙", (), frozenset(perm.ALL), AreaScope.of(["610925"]))
    assert views.area_kpis(ctx, leader, county) is views.area_kpis(ctx, clerk, county)
    assert views.area_kpis(ctx, other, county) is not views.area_kpis(ctx, leader, county)
    assert views.layer_bytes(ctx, leader, "special", county) is views.layer_bytes(ctx, clerk, "special", county)
    # warming the city's children computes each county once; a later request finds it
    ctx.kpi_cache.clear()
    ctx.geo_cache.clear()
    calls = []
    real = views.kpis.from_cube
    try:
        views.kpis.from_cube = lambda *a, **k: calls.append(a[2].code) or real(*a, **k)
        assert views.warm_children(ctx, leader, city, ("areas", "special")) == 2
        warmed = sorted(calls)
        views.area_kpis(ctx, clerk, county)
        views.layer_json(ctx, clerk, "areas", county)
    finally:
        views.kpis.from_cube = real
    assert "610924" in warmed and sorted(calls) == warmed  # no recomputation after the warm-up


def test_first_layout_holds_the_overview_only_for_the_overview(client):
    """/_dash-layout for "/" carries the overview (no routing round trip); other pages keep Dash's routing."""
    def content(referer):
        layout = client.get("/_dash-layout", headers={"Referer": referer} if referer else {}).get_json()
        text = json.dumps(layout, ensure_ascii=False)
        return text, ('"id": "ov-map"' in text or '"id":"ov-map"' in text)

    text, filled = content("http://localhost/?area=610924")
    assert filled and '"pathname": "/"' in text and '"search": "?area=610924"' in text and '"610924"' in text
    assert '"href": "http://localhost/?area=610924"' in text  # dcc.Location sees no change: no routing call
    for other in ("http://localhost/duty", "http://evil.example/?area=610924", None, "http://localhost/#x"):
        assert not content(other)[1], other


def test_index_page_defers_ag_grid_and_plotly_but_serves_them_locally(client):
    """The first view does not carry AG Grid or Plotly; both are this app's own files, fetched on demand."""
    import re

    scripts = re.findall(r'<script src="([^"]+)"', client.get("/").get_data(as_text=True))
    # Plotly itself is deferred; only its 3 kB zh-CN locale comes with the page (it must be there before Plotly)
    assert not [s for s in scripts if "dash_ag_grid" in s or ("plotly" in s and "plotly-locale-zh-cn" not in s)], scripts
    assert any("plotly-locale-zh-cn" in s for s in scripts)
    assert any("pingan_lazy.js" in s for s in scripts) and any("dash_leaflet" in s for s in scripts)
    for url in ("/_dash-component-suites/dash_ag_grid/dash_ag_grid.min.js", "/assets/vendor/plotly-basic.min.js",
                "/_dash-component-suites/dash_ag_grid/async-community.js"):
        r = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip", url
        assert len(gzip.decompress(r.data)) > 100_000
    lazy = client.get("/assets/pingan_lazy.js").get_data(as_text=True)
    assert "assets/vendor/plotly-basic.min.js" in lazy and "dash_ag_grid/dash_ag_grid.min.js" in lazy
    assert "http://" not in lazy and "https://" not in lazy


def test_index_page_preloads_the_map_chunk_the_first_view_needs(client):
    """dash-leaflet's GeoJSON chunk is asked for only after the layout renders: the index preloads it."""
    import re

    page = client.get("/").get_data(as_text=True)
    preloads = re.findall(r'<link rel="preload" as="script" href="([^"]+)">', page)
    assert preloads == ["/_dash-component-suites/dash_leaflet/async-GeoJSON.js"]
    assert page.index(preloads[0]) < page.index("<script")  # fetched beside the scripts, not after them
    r = client.get(preloads[0])
    assert r.status_code == 200 and b"GeoJSON" in r.data


def test_bundles_are_compressed_once_and_ahead(app, client):
    from console import lazy_assets
    from console.routes import compress

    url = "/_dash-component-suites/dash_ag_grid/dash_ag_grid.min.js"
    first = client.get(url, headers={"Accept-Encoding": "gzip"}).data
    key = compress._content_key(gzip.decompress(first))
    compress._static[key] = b"cached"  # a second request is answered from the cache, not re-compressed
    try:
        assert client.get(url, headers={"Accept-Encoding": "gzip"}).data == b"cached"
    finally:
        compress._static[key] = first
    # start-up gzips the index page's scripts and the on-demand bundles
    files = compress.first_view_files(app, lazy_assets.ON_DEMAND_URLS)
    names = {f.name for f in files}
    assert {"dash_leaflet.js", "dash_renderer.min.js", "pingan_map.js", "pingan.css", "dash_ag_grid.min.js",
            "async-community.js", "plotly-basic.min.js"} <= names
    compress._static.clear()
    assert compress.prewarm(files) == len(_static_sized(files))
    for f in files:
        if f.stat().st_size >= compress.MIN_SIZE:
            assert gzip.decompress(compress._static[compress._content_key(f.read_bytes())]) == f.read_bytes()


def test_fingerprinted_assets_are_cached_by_the_browser(client):
    r = client.get("/assets/pingan_map.js?m=123")
    assert r.status_code == 200 and "max-age=31536000" in r.headers["Cache-Control"]
    assert "private" in r.headers["Cache-Control"]
    r = client.get("/assets/vendor/plotly-basic.min.js")  # no fingerprint: revalidated as before
    assert "max-age=31536000" not in r.headers.get("Cache-Control", "")
    assert "no-store" in client.get("/_dash-layout").headers["Cache-Control"]


def _static_sized(files):
    from console.routes import compress

    return [f for f in files if f.stat().st_size >= compress.MIN_SIZE]


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
