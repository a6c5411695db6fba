"""Video routes over HTTP, behind the login gate (docs/video.md): play tickets with permission and scope per
camera, audited; the signed address redirects to the gateway and nowhere else; the window's reasons (offline,
no address, misconfigured gateway, expired or forged token); nearest cameras to an alert; the wall's cap."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import select

from console.app import create_app
from console.config import Settings
from console.store import Alert, Camera, make_engine, make_session_factory
from console.store.codes import CITY_CODE
from console.store.security_models import AuditLog
from console.video import tokens
from console.video.gateway import VideoSettings
from tests.browser.tinyworld import build
from tests.security_login import add_account, login_client, security_settings

NOW = datetime(2026, 11, 26, 9, 0)
GATEWAY = {"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_HLS": "http://10.9.0.7:8080/live/{device_id}/hls.m3u8",
           "PINGAN_VIDEO_FLV": "http://10.9.0.7:8080/live/{device_id}.live.flv"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("video") / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        online = s.scalars(select(Camera).where(Camera.status == "online").order_by(Camera.id)).all()
        offline = s.scalars(select(Camera).where(Camera.status == "offline").order_by(Camera.id)).first()
        cam = online[0]
        alert = Alert(rule="r", kind="k", severity="high", state="new", title="聚集预警", raised_at=NOW,
                      updated_at=NOW, lon=cam.lon + 0.0003, lat=cam.lat, county_code=cam.county_code,
                      town_code=cam.town_code, village_code=cam.village_code, grid_code=cam.grid_code)
        s.add(alert)
        s.commit()
        other_county = "610925" if cam.county_code == "610924" else "610924"
        info = {"db": path, "factory": factory, "online": [c.id for c in online], "offline": offline.id,
                "device": cam.device_id, "alert": alert.id, "county": cam.county_code, "other": other_county}
    add_account(path, "duty", roles=("duty_officer",), scope=(CITY_CODE,))
    add_account(path, "leader", roles=("city_leader",), scope=(CITY_CODE,))
    add_account(path, "worker", roles=("grid_worker",), scope=(CITY_CODE,))
    add_account(path, "duty_far", roles=("duty_officer",), scope=(other_county,))
    yield info
    engine.dispose()


def _client(world, username, env=GATEWAY, **video):
    app = create_app(world["db"], settings=Settings(warm_cache=False), security_settings=security_settings(),
                     video_settings=VideoSettings.from_env(env, **video))
    client = app.server.test_client()
    login_client(client, username)
    return client


def _audit(world, action, actor):
    with world["factory"]() as s:
        return s.execute(select(AuditLog.object, AuditLog.result, AuditLog.detail)
                         .where(AuditLog.action == action, AuditLog.actor == actor)).all()


@pytest.mark.parametrize("username", ["duty", "leader"])
def test_a_ticket_redirects_to_the_gateway_and_is_audited(world, username):
    client = _client(world, username)
    cam = world["online"][0]
    r = client.get(f"/api/video/play/{cam}")
    assert r.status_code == 200, r.get_json()
    t = r.get_json()
    assert t["player"] == "hls" and t["variant"] == "hls" and t["variants"] == ["flv", "hls"]
    assert t["url"].startswith("/video/stream/") and t["expires"] > time.time()
    go = client.get(t["url"])
    assert go.status_code == 302
    assert go.headers["Location"] == f"http://10.9.0.7:8080/live/{world['device']}/hls.m3u8"
    assert any(o == f"camera:{cam}" and res == "granted" for o, res, _ in _audit(world, "video.play", username))
    flv = client.get(f"/api/video/play/{cam}?variant=flv").get_json()
    assert flv["player"] == "flv" and client.get(flv["url"]).headers["Location"].endswith(".live.flv")


def test_the_page_and_its_csp_allow_the_gateway_and_blob_media(world):
    client = _client(world, "duty")
    r = client.get("/video")
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "media-src 'self' blob: http://10.9.0.7:8080" in csp and "http://10.9.0.7:8080" in csp.split("connect-src")[1]
    assert client.get("/api/video/config").get_json()["max_streams"] == 16


def test_without_view_video_everything_is_refused_and_audited(world):
    client = _client(world, "worker")
    cam = world["online"][0]
    # (the wall page itself: its layout is refused by the registry's PAGES like every page's, tests/test_security_leaks.py)
    for path in (f"/api/video/play/{cam}", "/api/video/cameras?q=", f"/api/video/nearby?alert={world['alert']}"):
        r = client.get(path)
        assert r.status_code == 403, path
    refused = {o for o, res, _ in _audit(world, "access.denied", "worker") if res == "refused"}
    assert "route:/api/video/play/<int:camera_id>" in refused  # the registry gate audits the refusal by route


def test_a_camera_outside_the_scope_is_refused_and_audited(world):
    client = _client(world, "duty_far")
    cam = world["online"][0]
    r = client.get(f"/api/video/play/{cam}")
    assert r.status_code == 403 and r.get_json()["reason"] == "denied"
    assert ("camera:%d" % cam) in {o for o, _, _ in _audit(world, "access.denied", "duty_far")}
    found = [c["id"] for c in client.get("/api/video/cameras?q=&limit=64").get_json()["cameras"]]
    with world["factory"]() as s:
        counties = {c.county_code for c in s.scalars(select(Camera).where(Camera.id.in_(found)))}
    assert found and cam not in found and counties == {world["other"]}
    assert client.get(f"/api/video/nearby?alert={world['alert']}").status_code == 403
    # a genuine token of the right account still does not open a camera outside the scope
    v = VideoSettings.from_env(GATEWAY)
    token = tokens.sign(v.secret, cam, "hls", "duty_far", time.time(), 60)
    client2 = _client(world, "duty_far", secret=v.secret)
    assert client2.get(f"/video/stream/{token}").status_code == 403


def test_offline_unknown_and_addressless_cameras_say_why(world):
    client = _client(world, "duty")
    r = client.get(f"/api/video/play/{world['offline']}")
    assert r.status_code == 409 and r.get_json()["reason"] == "offline" and "离线" in r.get_json()["error"]
    r = client.get("/api/video/play/999999")
    assert r.status_code == 404 and r.get_json()["error"] == "没有这台摄像机"
    r = client.get(f"/api/video/play/{world['online'][0]}?variant=h264")
    assert r.status_code == 409 and r.get_json()["reason"] == "no_address" and "转码" in r.get_json()["error"]
    r = client.get(f"/api/video/play/{world['online'][0]}?variant=rtsp")
    assert r.status_code == 400


def test_a_camera_missing_from_the_address_list_has_no_address(world, tmp_path):
    table = tmp_path / "cams.csv"
    table.write_text("device_id,hls,codec\n99999999999999999999,http://10.9.0.8/x.m3u8,h265\n", encoding="utf-8")
    client = _client(world, "duty", env={"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_URLS": str(table)})
    r = client.get(f"/api/video/play/{world['online'][0]}")
    assert r.status_code == 409 and r.get_json() == {"error": "该摄像机没有可用的视频流地址", "reason": "no_address"}


def test_an_h265_camera_is_marked_and_offered_its_transcoded_stream(world, tmp_path):
    table = tmp_path / "cams.csv"
    table.write_text(f"device_id,hls,h264,codec\n{world['device']},http://10.9.0.8/a.m3u8,http://10.9.0.8/t.m3u8,hevc\n",
                     encoding="utf-8")
    client = _client(world, "duty", env={"PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_URLS": str(table)})
    t = client.get(f"/api/video/play/{world['online'][0]}").get_json()
    assert t["codec"] == "h265" and "h264" in t["variants"]
    t2 = client.get(f"/api/video/play/{world['online'][0]}?variant=h264").get_json()
    assert t2["codec"] == "h264" and client.get(t2["url"]).headers["Location"] == "http://10.9.0.8/t.m3u8"


def test_a_misconfigured_gateway_answers_its_reason_not_500(world):
    client = _client(world, "duty", env={"PINGAN_VIDEO_GATEWAY": "zlm"})
    r = client.get(f"/api/video/play/{world['online'][0]}")
    assert r.status_code == 409 and r.get_json()["reason"] == "gateway_config"
    assert "PINGAN_VIDEO_BASE" in r.get_json()["error"]
    page = client.get("/video")
    assert page.status_code == 200
    unset = _client(world, "duty", env={}).get(f"/api/video/play/{world['online'][0]}").get_json()
    assert unset["reason"] == "gateway_config" and "未配置视频网关" in unset["error"]


def test_expired_forged_and_foreign_tokens_are_refused(world):
    v = VideoSettings.from_env(GATEWAY)
    client = _client(world, "duty", secret=v.secret)
    cam = world["online"][0]
    expired = tokens.sign(v.secret, cam, "hls", "duty", time.time() - 120, 60)
    r = client.get(f"/video/stream/{expired}")
    assert r.status_code == 410 and r.get_json()["reason"] == "token_expired" and "过期" in r.get_json()["error"]
    foreign = tokens.sign(v.secret, cam, "hls", "leader", time.time(), 60)
    assert client.get(f"/video/stream/{foreign}").get_json()["reason"] == "token_signature"
    forged = tokens.sign(b"guess", cam, "hls", "duty", time.time(), 3600)
    assert client.get(f"/video/stream/{forged}").status_code == 403
    assert client.get("/video/stream/" + "9" * 5000).get_json()["reason"] == "token_malformed"
    assert client.get("/video/stream/1.hls.x.y").get_json()["reason"] == "token_malformed"


def test_nearby_fills_with_online_cameras_in_distance_order_and_keeps_the_cap(world):
    client = _client(world, "duty", max_streams=4)
    r = client.get(f"/api/video/nearby?alert={world['alert']}&n=50")
    assert r.status_code == 200
    body = r.get_json()
    ids = [c["id"] for c in body["cameras"]]
    assert ids[0] == world["online"][0] and world["offline"] not in ids and len(ids) <= 4
    assert all(c["status"] == "online" for c in body["cameras"])
    assert [c["distance_m"] for c in body["cameras"]] == sorted(c["distance_m"] for c in body["cameras"])
    assert "上限为 4 路" in body["note"]
    assert client.get("/api/video/nearby?alert=abc").status_code == 400
    assert client.get("/api/video/nearby?alert=99999999").status_code == 404


def test_the_wall_page_lays_out_for_the_viewer(world):
    import dash
    from flask import g

    from console.security.guard import Viewer

    app = create_app(world["db"], settings=Settings(warm_cache=False), security_settings=security_settings(),
                     video_settings=VideoSettings.from_env(GATEWAY, max_streams=6))
    with app.server.test_request_context("/video"):
        g.pingan_viewer = Viewer.build("duty", ["duty_officer"], [CITY_CODE])
        layout = next(p["layout"] for p in dash.page_registry.values() if p["path"] == "/video")
        tree = layout(alert=str(world["alert"]))
    text = str(tree)
    assert "聚集预警" in text and "附近摄像机" in text and "data-max-streams='6'" in text
    assert f"data-alert='{world['alert']}'" in text


def test_coverage_per_grid_is_scoped_and_needs_the_camera_layer(world):
    client = _client(world, "duty")
    r = client.get(f"/api/coverage?area={world['county']}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["households"] > 0 and 0 <= body["covered"] <= body["households"] and body["cameras"] >= 1
    assert all(g["grid_code"].startswith(world["county"]) for g in body["grids"])
    assert sum(g["households"] for g in body["grids"]) == body["households"]
    assert all(g["uncovered"] > 0 for g in body["gaps"])
    assert client.get("/api/coverage?area=x").status_code == 400
    far = _client(world, "duty_far")
    assert far.get(f"/api/coverage?area={world['county']}").status_code == 403
    worker = _client(world, "worker")  # 网格员: no camera layer
    assert worker.get(f"/api/coverage?area={world['county']}").status_code == 403


def test_the_duty_detail_links_to_the_wall_only_for_viewers_who_may_watch(world):
    import sys

    create_app(world["db"], settings=Settings(warm_cache=False), security_settings=security_settings(),
               video_settings=VideoSettings.from_env(GATEWAY))
    duty_page = next(m for name, m in sys.modules.items() if name.endswith("pages.duty"))
    d = {"id": world["alert"], "title": "t", "severity_label": "", "state_label": "", "rule": "", "raised_at": "",
         "place": "", "grid": "", "grid_name": "", "source": ("", ""), "assignee": "", "person": None, "workers": [],
         "history": [], "report": "", "roster": [], "tasks": [],
         "cameras": [{"name": "摄像机1", "status_label": "在线", "distance_m": 30}]}
    assert f"/video?alert={world['alert']}" in str(duty_page._render_detail(d, video=True))
    assert "/video?alert=" not in str(duty_page._render_detail(d, video=False))


def test_the_coverage_gap_layer_marks_grids_with_uncovered_households(world):
    client = _client(world, "leader")
    r = client.get(f"/api/layers/coverage.geojson?area={world['county']}")
    assert r.status_code == 200, r.get_data(as_text=True)[:200]
    feats = r.get_json()["features"]
    assert feats, "the tiny world's households are not all beside a camera"
    bubbles = [f["properties"] for f in feats if "rank" in f["properties"]]
    assert bubbles
    for k, p in enumerate(bubbles, start=1):
        assert p["count"] > 0 and p["code"].startswith(world["county"]) and p["area"].startswith(f"缺口第 {k} 名")
    counts = [p["count"] for p in bubbles]
    assert counts == sorted(counts, reverse=True)  # the worst gaps first (by gap score)
    assert _client(world, "worker").get(f"/api/layers/coverage.geojson?area={world['county']}").status_code == 403


@pytest.mark.parametrize("path, status", [
    ("/api/video/cameras?limit=abc", 400), ("/api/video/cameras?limit=0", 400), ("/api/video/cameras?limit=65", 400),
    ("/api/video/cameras?q=" + "%25_" * 500, 200), ("/api/video/nearby?alert=1&n=0", 400),
    ("/api/video/nearby?alert=1&n=-3", 400), ("/api/video/nearby?alert=1e3", 400),
    ("/api/video/play/1?variant=" + "x" * 300, 400), ("/api/coverage?area=610924&top=0", 400),
    ("/api/coverage?area=" + "6" * 40, 400),
])
def test_forged_parameters_get_a_chinese_400_never_a_500(world, path, status):
    client = _client(world, "duty")
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code)
    if status == 400:
        assert r.get_json()["reason"] == "bad_request" and r.get_json()["error"]
