"""Incident command (docs/safety.md) on a tiny world: raising an alert at a level of the plan, the assembly
checked against direct SQL and an independent geodesic, and the refusals — an alert raised twice, a forged level,
an alert outside the scope, a viewer without the permission — each leaving the store as it was."""

from __future__ import annotations

from datetime import datetime

import pytest
import shapely
from pyproj import Geod
from sqlalchemy import func, select, text

from console.safety import incidents, response_plan
from console.safety.incidents import IncidentError
from console.security.guard import AccessDenied
from console.services import incident as assembly
from console.store import Alert, Camera, Grid, make_engine, make_session_factory
from console.store.codes import CITY_CODE
from console.store.safety_models import Incident, IncidentAction, KeyPlace, SafetyLine
from console.store.security_models import AuditLog
from tests.browser.tinyworld import build
from tests.sectest import viewer_of
from tests.security_login import add_account

# Later tests read incidents the earlier ones raised: the module runs in one worker (`--dist loadfile`, Makefile).
pytestmark = pytest.mark.xdist_group("safety-incident")

NOW = datetime(2026, 11, 26, 1, 0)
GEOD = Geod(ellps="WGS84")
PLACE_DISTANCES = (300, 900, 1900, 2900, 4000)  # metres east of the alert


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("incident") / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s, s.begin():
        grid = s.scalars(select(Grid).where(Grid.code.like("610924%")).order_by(Grid.code)).first()
        pt = shapely.from_wkb(grid.geom_wkb).representative_point()
        codes = dict(county_code=grid.code[:6], town_code=grid.code[:9], village_code=grid.code[:12],
                     grid_code=grid.code, assign_generation=1)
        alert = Alert(rule="crowd", kind="crowd", severity="high", state="new", title="广场人员聚集", raised_at=NOW,
                      updated_at=NOW, lon=pt.x, lat=pt.y, **codes)
        closed = Alert(rule="crowd", kind="crowd", severity="low", state="resolved", title="已办结", raised_at=NOW,
                       updated_at=NOW, lon=pt.x, lat=pt.y, **codes)
        s.add_all([alert, closed])
        for i, d in enumerate(PLACE_DISTANCES):
            lon, lat, _ = GEOD.fwd(pt.x, pt.y, 90, d)
            s.add(KeyPlace(code=f"T{i}", name=f"测试学校{i}", kind="school", risk_level="high", address="",
                           contact="", synthetic=True, lon=lon, lat=lat, **codes))
        lon, lat, _ = GEOD.fwd(pt.x, pt.y, 0, 1500)  # a railway section 1.5 km north, east-west
        line = shapely.LineString([(lon - 0.05, lat), (lon + 0.05, lat)])
        s.add(SafetyLine(code="TL-T", name="襄渝铁路测试段", kind="railway", risk_level="high", length_m=9000,
                         geometry=shapely.to_geojson(line), grids=grid.code, min_lon=lon - 0.05, max_lon=lon + 0.05,
                         min_lat=lat, max_lat=lat, synthetic=True, lon=lon, lat=lat, **codes))
        # cameras: an online dome 40 m away, an offline one 10 m away, a bullet 60 m away looking away
        for k, (d, kind, status, direction) in enumerate(((40, "dome", "online", 0), (10, "dome", "offline", 0),
                                                           (60, "bullet", "online", 90))):
            lon, lat, _ = GEOD.fwd(pt.x, pt.y, 90, d)
            s.add(Camera(device_id=f"6109240000132{k:07d}", name=f"广场摄像机{k}", kind=kind, direction=direction,
                         status=status, lon=lon, lat=lat, **codes))
        s.flush()
        info = {"db": path, "factory": factory, "alert": alert.id, "closed": closed.id, "grid": grid.code,
                "lon": pt.x, "lat": pt.y}
    add_account(path, "duty", roles=("duty_officer",), scope=(CITY_CODE,))
    add_account(path, "duty_far", roles=("duty_officer",), scope=("610925",))
    add_account(path, "county", roles=("county",), scope=("610924",))
    add_account(path, "hall", roles=("wall_display",), scope=(CITY_CODE,))
    yield info
    engine.dispose()


def _counts(factory) -> tuple[int, int]:
    with factory() as s:
        return (s.scalar(select(func.count()).select_from(Incident)),
                s.scalar(select(func.count()).select_from(IncidentAction)))


def _raise(world, who, alert_id, level, note=""):
    factory = world["factory"]
    with factory() as s, s.begin():
        return incidents.raise_incident(s, viewer_of(factory, who), alert_id, level, note, NOW).id


def test_refusals_leave_nothing_written(world):
    factory = world["factory"]
    before = _counts(factory)
    with pytest.raises(response_plan.LevelError, match="“V”不在应急预案中"):
        _raise(world, "duty", world["alert"], "V")
    with pytest.raises(AccessDenied):  # the alert lies in 紫阳, the officer's scope is 岚皋
        _raise(world, "duty_far", world["alert"], "II")
    with pytest.raises(AccessDenied):  # a county clerk sees alerts but does not command incidents
        _raise(world, "county", world["alert"], "II")
    with pytest.raises(IncidentError, match="已办结或为误报"):
        _raise(world, "duty", world["closed"], "IV")
    with pytest.raises(IncidentError, match="没有编号为 999999 的预警"):
        _raise(world, "duty", 999999, "IV")
    assert _counts(factory) == before
    with factory() as s:
        denied = s.execute(select(AuditLog.actor, AuditLog.object).where(AuditLog.result == "refused")).all()
    assert ("duty_far", f"alert:{world['alert']}") in denied and ("county", f"alert:{world['alert']}") in denied


def test_raise_assemble_and_command_against_direct_sql(world):
    factory = world["factory"]
    incident_id = _raise(world, "duty", world["alert"], "I", "广场聚集约 200 人")
    with pytest.raises(IncidentError, match="不能重复启动"):  # the same alert a second time
        _raise(world, "duty", world["alert"], "II")
    viewer = viewer_of(factory, "duty")
    with factory() as s:
        a = assembly.assemble(s, viewer, incident_id)
        lv = response_plan.LEVELS["I"]
        # key places: direct SQL, distances by an independent geodesic
        rows = s.execute(text("SELECT id, lon, lat FROM key_place WHERE grid_code LIKE :p"), {"p": "610924%"}).all()
        expected = sorted((round(GEOD.inv(world["lon"], world["lat"], r.lon, r.lat)[2]), r.id) for r in rows
                          if GEOD.inv(world["lon"], world["lat"], r.lon, r.lat)[2] <= lv.radius_m)
        assert [p["id"] for p in a["places"]] == [i for _, i in expected]
        assert [p["distance_m"] for p in a["places"]] == pytest.approx([d for d, _ in expected], abs=15)
        assert [round(p["distance_m"] / 100) for p in a["places"]] == [3, 9, 19, 29]  # 4 km is outside Ⅰ级's 3 km
        # grid workers: every worker of every current grid within the radius (geodesic to the polygon)
        grids = s.execute(text("SELECT code, geom_wkb FROM grid WHERE generation_high IS NULL")).all()
        near = {c for c, wkb in grids if c == world["grid"] or _polygon_m(world, shapely.from_wkb(wkb)) <= lv.radius_m}
        workers = s.execute(text("SELECT id FROM grid_worker WHERE grid_code IN (%s)" %
                                 ",".join(f"'{c}'" for c in near))).scalars().all()
        assert sorted(w["id"] for w in a["workers"]) == sorted(workers)
        assert all("****" in w["phone"] for w in a["workers"])  # masked
        # cameras: the online ones first by distance, the one looking away after (it counts twice as far)
        assert [c["name"] for c in a["cameras"]][:2] == ["广场摄像机0", "广场摄像机2"]
        assert all(s.scalar(select(Camera.status).where(Camera.id == c["id"])) == "online" for c in a["cameras"])
        assert a["lines"] and a["lines"][0]["distance_m"] == pytest.approx(1500, abs=20)
        assert a["wall_url"] == f"/video?alert={world['alert']}&layout=16"
    with factory() as s, s.begin():
        incidents.log_action(s, viewer, incident_id, "已调派民警 6 人到场", NOW)
        incidents.change_level(s, viewer, incident_id, "II", "", NOW)
        with pytest.raises(response_plan.LevelError):
            incidents.change_level(s, viewer, incident_id, "0", "", NOW)
    with factory() as s, s.begin():
        incidents.close(s, viewer, incident_id, "人员已疏散", NOW)
    with factory() as s:
        kinds = s.execute(text("SELECT kind FROM incident_action WHERE incident_id = :i ORDER BY id"),
                          {"i": incident_id}).scalars().all()
        assert kinds == ["raise", "note", "level", "close"]
        audited = s.execute(select(AuditLog.action).where(AuditLog.object == f"incident:{incident_id}",
                                                          AuditLog.result == "granted")).scalars().all()
        assert {"incident.raise", "incident.note", "incident.level", "incident.close"} <= set(audited)
        a = assembly.assemble(s, viewer, incident_id)
        assert a["state_label"] == "已结束" and a["level_label"] == "Ⅱ级（重大）"
        report = dict(assembly.handover_report(a))
        assert any("已调派民警" in line for line in report["处置时间线"])
        assert report["周边 2000 米重点场所"][0].startswith("测试学校0")
    with factory() as s, s.begin(), pytest.raises(IncidentError, match="已结束响应"):
        incidents.log_action(s, viewer, incident_id, "再记一笔", NOW)
    with factory() as s, pytest.raises(AccessDenied):  # reading is scoped too
        assembly.assemble(s, viewer_of(factory, "duty_far"), incident_id)


def _polygon_m(world, poly) -> float:
    if poly.contains(shapely.Point(world["lon"], world["lat"])):
        return 0.0
    from shapely.ops import nearest_points

    near = nearest_points(poly.boundary, shapely.Point(world["lon"], world["lat"]))[0]
    return GEOD.inv(world["lon"], world["lat"], near.x, near.y)[2]


# -- the same refusals through the running console: forged callbacks and layer requests ---------------------------
def _console(world, username):
    from console.app import create_app
    from console.config import Settings
    from tests.security_login import login_client, security_settings

    app = create_app(world["db"], settings=Settings(warm_cache=False), security_settings=security_settings())
    client = app.server.test_client()
    return client, login_client(client, username)


def _raise_call(client, csrf, alert_id, level):
    from tests.test_admin_pages import call

    return call(client, csrf, [("inc-id", "data"), ("inc-raise-msg", "children"), ("inc-top", "style")],
                [("inc-raise", "n_clicks", 1)],
                [("inc-alert", "data", alert_id), ("inc-level", "value", level), ("inc-note", "value", "")])


def test_forged_callbacks_are_answered_in_words_and_change_nothing(world):
    factory = world["factory"]
    with factory() as s, s.begin():
        a = s.get(Alert, world["alert"])
        fresh = Alert(rule="crowd", kind="crowd", severity="medium", state="new", title="另一处聚集", raised_at=NOW,
                      updated_at=NOW, lon=a.lon, lat=a.lat, **{c: getattr(a, c) for c in incidents.LOCATED[2:]})
        s.add(fresh)
        s.flush()
        fresh_id = fresh.id
    before = _counts(factory)
    client, csrf = _console(world, "duty")
    status, resp = _raise_call(client, csrf, fresh_id, "Ⅴ级")  # a level outside the plan
    assert status == 200 and "不在应急预案中" in resp["inc-raise-msg"]["children"]
    status, resp = _raise_call(client, csrf, "1 OR 1=1", "I")  # not an alert number
    assert status == 200 and "请先从值班台选择" in resp["inc-raise-msg"]["children"]
    far, far_csrf = _console(world, "duty_far")
    status, resp = _raise_call(far, far_csrf, fresh_id, "III")  # outside the officer's scope
    assert status == 200 and "数据范围" in resp["inc-raise-msg"]["children"]
    clerk, clerk_csrf = _console(world, "county")
    status, _ = _raise_call(clerk, clerk_csrf, fresh_id, "III")  # the gate: no incident:command
    assert status == 403
    assert _counts(factory) == before
    status, resp = _raise_call(client, csrf, fresh_id, "III")
    assert status == 200 and isinstance(resp["inc-id"]["data"], int)
    new_id = resp["inc-id"]["data"]
    status, resp = _raise_call(client, csrf, fresh_id, "II")  # raised already
    assert "不能重复启动" in resp["inc-raise-msg"]["children"]
    # someone else's incident by number: the assembly is refused in words, nothing of it shown
    from tests.test_admin_pages import call

    status, resp = call(far, far_csrf, [("inc-wall-box", "children"), ("inc-body", "children"),
                                        ("inc-cmd-box", "style")],
                        [("inc-id", "data", new_id),
                         ("inc-refresh", "data", 0)])
    assert status == 200 and "不在您的数据范围内" in json_text(resp) and "另一处聚集" not in json_text(resp)


def json_text(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def test_layers_of_key_places_lines_and_incidents(world):
    client, _ = _console(world, "duty")
    places = client.get(f"/api/layers/keyplaces.geojson?area={world['grid'][:9]}").get_json()
    assert {f["properties"]["k"] for f in places["features"]} == {"school"}
    rows = dict((r[0], r[1]) for r in client.get(f"/api/layers/keyplaces/{places['features'][0]['id']}")
                .get_json()["rows"])
    assert rows["类别"] == "学校（校园周边）" and rows["数据来源"] == "演示数据（合成）" and "视频覆盖" in rows
    lines = client.get(f"/api/layers/safetylines.geojson?area={world['grid'][:6]}").get_json()
    assert lines["features"][0]["geometry"]["type"] == "LineString"
    rows = dict((r[0], r[1]) for r in client.get(f"/api/layers/safetylines/{lines['features'][0]['id']}")
                .get_json()["rows"])
    assert rows["责任网格"] and rows["数据来源"].startswith("演示数据")
    incident_id = client.get(f"/api/layers/incidents.geojson?area={world['grid'][:6]}").get_json()["features"][0]["id"]
    rows = dict((r[0], r[1]) for r in client.get(f"/api/layers/incidents/{incident_id}").get_json()["rows"])
    assert rows["指挥页"] == f"/incident?id={incident_id}"
    # the coverage layer: the uncovered key places as dots beside the gap bubbles, their popup the place's own
    cov = client.get(f"/api/layers/coverage.geojson?area={world['grid'][:9]}").get_json()
    dots = [f for f in cov["features"] if "r" in f["properties"]]
    assert {f["id"] for f in dots} >= {f["id"] for f in places["features"][1:]}  # 300 m and beyond: no camera
    rows = dict((r[0], r[1]) for r in client.get(f"/api/layers/coverage/{dots[0]['id']}").get_json()["rows"])
    assert rows["视频覆盖"] == "未被在线摄像机覆盖"
    far, _ = _console(world, "duty_far")  # 岚皋 only: nothing of 紫阳, and a forged record id answers nothing
    assert far.get(f"/api/layers/keyplaces.geojson?area={world['grid'][:9]}").status_code == 403
    for key, fid in (("keyplaces", places["features"][0]["id"]), ("safetylines", lines["features"][0]["id"]),
                     ("incidents", incident_id), ("coverage", dots[0]["id"]), ("keyplaces", 10**9)):
        assert far.get(f"/api/layers/{key}/{fid}").status_code == 403, key
    incidents_layer = client.get(f"/api/layers/incidents.geojson?area={world['grid'][:6]}").get_json()
    assert all("Ⅰ级" in f["properties"]["area"] or "级" in f["properties"]["area"]
               for f in incidents_layer["features"])


def test_the_hall_screen_shows_active_incidents_by_level_and_town_only(world):
    factory = world["factory"]
    with factory() as s:
        active = s.scalars(select(Incident).where(Incident.state == "active")).all()
    assert active, "an earlier test raised one"
    hall, csrf = _console(world, "hall")
    from tests.test_admin_pages import render

    banner = render(hall, csrf, "/hall")  # the wall's banner counts them, the most serious level named
    assert "处置中突发事件" in banner and f"{len(active)}（最高Ⅲ级）" in banner
    got = hall.get(f"/api/layers/incidents.geojson?area={world['grid'][:6]}").get_json()
    assert {f["id"] for f in got["features"]} == {i.id for i in active}
    text_of = json_text(got)
    assert all(i.title not in text_of for i in active)  # level and town, never the alert's text
    assert "级（较大）突发事件 · 紫阳第1镇" in text_of
    assert hall.get(f"/api/layers/incidents/{active[0].id}").status_code == 403  # no record rows on the wall
