"""The platform API through the console (docs/video.md "Platform API"), against a fake wvp-GB28181-pro started
here (tests/fake_wvp.py) that answers the documented contract: PTZ (video:ptz, dome only, audited), playback of
a past range, the live invite before a ticket, WebRTC offer/answer (ZLMediaKit's and WHEP), and the failures —
device offline (code 100), a refused command, no answer in time, nobody listening, a bad login, a stale token."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from console.app import create_app
from console.config import Settings
from console.store import Camera, make_engine, make_session_factory
from console.store.codes import CITY_CODE
from console.store.security_models import AuditLog
from console.video import control, wvp
from console.video.gateway import VideoSettings
from console.video.service import VideoError
from tests.browser.tinyworld import build
from tests.fake_wvp import PASSWORD, USER, fake_wvp
from tests.console_process import local_port
from tests.security_login import ORIGIN, add_account, login_client, security_settings


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = build(tmp_path_factory.mktemp("platform") / "tiny.sqlite")
    engine = make_engine(path, must_exist=True)
    factory = make_session_factory(engine)
    with factory() as s:
        online = s.scalars(select(Camera).where(Camera.status == "online").order_by(Camera.id)).all()
        dome, bullet = online[0], online[1]
        bullet.kind = "bullet"
        s.commit()
        other = "610925" if dome.county_code == "610924" else "610924"
        info = {"db": path, "factory": factory, "dome": dome.id, "device": dome.device_id, "bullet": bullet.id,
                "county": dome.county_code, "other": other,
                "offline": s.scalars(select(Camera.id).where(Camera.status == "offline")).first()}
    add_account(path, "duty", roles=("duty_officer",), scope=(CITY_CODE,))
    add_account(path, "leader", roles=("city_leader",), scope=(CITY_CODE,))
    add_account(path, "duty_far", roles=("duty_officer",), scope=(other,))
    yield info
    engine.dispose()


@pytest.fixture()
def wvp_server():
    with fake_wvp("http://10.9.0.7:8080") as fake:
        yield fake


def _env(fake, **extra):
    env = {"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://10.9.0.7:8080",
           "PINGAN_VIDEO_WVP_API": fake.url, "PINGAN_VIDEO_WVP_USER": USER, "PINGAN_VIDEO_WVP_PASSWORD": PASSWORD,
           "PINGAN_VIDEO_API_TIMEOUT": "2"}
    env.update(extra)
    return env


def _client(world, username, env):
    app = create_app(world["db"], settings=Settings(warm_cache=False), security_settings=security_settings(),
                     video_settings=VideoSettings.from_env(env))
    client = app.server.test_client()
    csrf = login_client(client, username)
    client.post_json = lambda path, body: client.post(path, json=body,
                                                      headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    client.csrf = csrf
    return client


def _audit(world, action, actor):
    with world["factory"]() as s:
        return s.scalars(select(AuditLog).where(AuditLog.action == action, AuditLog.actor == actor)
                         .order_by(AuditLog.id.desc())).all()


def _calls(fake, prefix):
    return [r for r in fake.requests if r["path"].startswith(prefix)]


# ---- PTZ -------------------------------------------------------------------------------------------------
def test_press_and_release_send_the_documented_ptz_calls_logged_in_and_audited(world, wvp_server):
    c = _client(world, "duty", _env(wvp_server))
    before = len(_audit(world, "video.ptz", "duty"))
    r = c.post_json(f"/api/video/ptz/{world['dome']}", {"command": "left", "speed": 120})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["label"] == "左"
    assert c.post_json(f"/api/video/ptz/{world['dome']}", {"command": "stop"}).status_code == 200
    sent = _calls(wvp_server, "/api/front-end/ptz/")
    dev = world["device"]
    assert [s["path"] for s in sent] == [f"/api/front-end/ptz/{dev}/{dev}"] * 2
    assert sent[0]["query"] == {"command": "left", "horizonSpeed": "120", "verticalSpeed": "120", "zoomSpeed": "7"}
    assert sent[1]["query"]["command"] == "stop"
    assert all(s["token"] == "tok-1" for s in sent)  # after /api/user/login with the md5 of the password
    login = _calls(wvp_server, "/api/user/login")[0]
    assert login["query"]["username"] == USER and len(login["query"]["password"]) == 32
    rows = _audit(world, "video.ptz", "duty")
    assert len(rows) == before + 2 and '"command": "stop"' in rows[0].detail


def test_ptz_needs_its_permission_a_dome_scope_and_a_valid_command(world, wvp_server):
    env = _env(wvp_server)
    leader = _client(world, "leader", env)  # may watch, may not turn
    assert leader.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"}).status_code == 403
    assert _audit(world, "access.denied", "leader")
    duty = _client(world, "duty", env)
    r = duty.post_json(f"/api/video/ptz/{world['bullet']}", {"command": "up"})
    assert r.status_code == 409 and r.get_json()["reason"] == "not_ptz" and "不是球机" in r.get_json()["error"]
    for body, word in (({"command": "spin"}, "云台指令"), ({"command": "up", "speed": 0}, "速度"),
                       ({"command": "up", "speed": "fast"}, "速度")):
        r = duty.post_json(f"/api/video/ptz/{world['dome']}", body)
        assert r.status_code == 400 and word in r.get_json()["error"], body
    far = _client(world, "duty_far", env)
    assert far.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"}).status_code == 403
    assert not _calls(wvp_server, "/api/front-end/ptz/")  # nothing refused reached the platform
    # without the CSRF header a forged cross-site press is refused by the gate
    assert duty.post(f"/api/video/ptz/{world['dome']}", json={"command": "up"}).status_code in (400, 403)


def test_the_platform_s_failures_are_said_in_words(world, wvp_server):
    duty = _client(world, "duty", _env(wvp_server))
    wvp_server.offline.add(world["device"])
    r = duty.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"})
    assert r.status_code == 502 and r.get_json()["reason"] == "platform"
    assert "设备离线" in r.get_json()["error"] and "代码 100" in r.get_json()["error"]
    assert '"error"' in _audit(world, "video.ptz", "duty")[0].detail  # the failed command is on record too
    wvp_server.offline.clear()
    wvp_server.slow.add(world["device"])
    r = duty.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"})
    assert r.status_code == 504 and r.get_json()["reason"] == "gateway_down" and "2 秒内" in r.get_json()["error"]
    nobody = _client(world, "duty", _env(wvp_server, PINGAN_VIDEO_WVP_API=f"http://127.0.0.1:{local_port()}"))
    r = nobody.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"})
    assert r.status_code == 504 and "无法连接视频平台" in r.get_json()["error"]
    wrong = _client(world, "duty", _env(wvp_server, PINGAN_VIDEO_WVP_PASSWORD="nope"))
    r = wrong.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"})
    assert r.status_code == 502 and "登录失败" in r.get_json()["error"]
    unset = _client(world, "duty", {"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://10.9.0.7:8080"})
    r = unset.post_json(f"/api/video/ptz/{world['dome']}", {"command": "up"})
    assert r.status_code == 409 and "PINGAN_VIDEO_WVP_API" in r.get_json()["error"]


def test_a_stale_token_logs_in_again_once(world, wvp_server):
    client = wvp.WvpClient(wvp_server.url, USER, PASSWORD, timeout=2)
    client.ptz("d", "c", "up", 100)
    wvp_server.token = "tok-2"  # the platform restarted: the old token answers 401
    client.ptz("d", "c", "stop", 100)
    assert [r["token"] for r in _calls(wvp_server, "/api/front-end/ptz/")] == ["tok-1", "tok-1", "tok-2"]
    assert len(_calls(wvp_server, "/api/user/login")) == 2
    fixed = wvp.WvpClient(wvp_server.url, token="wrong", timeout=2)  # a fixed token is not renewed
    with pytest.raises(wvp.PlatformError, match="拒绝访问"):
        fixed.ptz("d", "c", "up", 100)


# ---- live start --------------------------------------------------------------------------------------------
def test_with_the_platform_a_ticket_invites_the_camera_first(world, wvp_server):
    duty = _client(world, "duty", _env(wvp_server))
    r = duty.get(f"/api/video/play/{world['dome']}")
    assert r.status_code == 200 and r.get_json()["url"].startswith("/video/stream/")
    dev = world["device"]
    assert [c["path"] for c in _calls(wvp_server, "/api/play/start/")] == [f"/api/play/start/{dev}/{dev}"]
    wvp_server.offline.add(dev)
    r = duty.get(f"/api/video/play/{world['dome']}")
    assert r.status_code == 502 and "设备离线" in r.get_json()["error"]
    wvp_server.offline.clear()
    wvp_server.slow.add(dev)
    r = duty.get(f"/api/video/play/{world['dome']}")
    assert r.status_code == 504 and r.get_json()["reason"] == "gateway_down"


# ---- playback ----------------------------------------------------------------------------------------------
def test_playback_of_a_range_answers_the_platform_s_address_and_is_audited(world, wvp_server):
    duty = _client(world, "duty", _env(wvp_server))
    start = (datetime.now() - timedelta(hours=3)).replace(second=0, microsecond=0)
    end = start + timedelta(minutes=30)
    r = duty.post_json(f"/api/video/playback/{world['dome']}", {"start": start.strftime("%Y-%m-%dT%H:%M"),
                                                                "end": end.strftime("%Y-%m-%dT%H:%M")})
    assert r.status_code == 200, r.get_data(as_text=True)
    t = r.get_json()
    dev = world["device"]
    assert t["player"] == "hls" and t["url"] == f"http://10.9.0.7:8080/rtp/{dev}_{dev}_pb/hls.m3u8"
    assert t["stream"] == f"{dev}_{dev}_pb" and t["playback"] is True
    sent = _calls(wvp_server, "/api/playback/start/")[0]
    assert sent["path"] == f"/api/playback/start/{dev}/{dev}"
    assert sent["query"] == {"startTime": start.strftime("%Y-%m-%d %H:%M:%S"), "endTime": end.strftime("%Y-%m-%d %H:%M:%S")}
    assert start.strftime("%Y-%m-%d %H:%M") in _audit(world, "video.playback", "duty")[0].detail
    r = duty.post_json(f"/api/video/playback/{world['dome']}/stop", {"stream": t["stream"]})
    assert r.status_code == 200
    assert _calls(wvp_server, "/api/playback/stop/")[0]["path"] == f"/api/playback/stop/{dev}/{dev}/{t['stream']}"
    r = duty.post_json(f"/api/video/playback/{world['dome']}/stop", {"stream": "../../x"})
    assert r.status_code == 400


def test_playback_ranges_and_addresses_are_checked(world, wvp_server):
    duty = _client(world, "duty", _env(wvp_server))
    now = datetime.now()
    f = "%Y-%m-%dT%H:%M"
    bad = [({"start": "yesterday", "end": now.strftime(f)}, "格式错误"),
           ({"start": now.strftime(f), "end": (now - timedelta(hours=1)).strftime(f)}, "晚于开始时间"),
           ({"start": (now + timedelta(hours=1)).strftime(f), "end": (now + timedelta(hours=2)).strftime(f)}, "不能晚于当前"),
           ({"start": (now - timedelta(hours=30)).strftime(f), "end": (now - timedelta(hours=1)).strftime(f)}, "最长 24 小时"),
           ({}, "格式错误")]
    for body, word in bad:
        r = duty.post_json(f"/api/video/playback/{world['dome']}", body)
        assert r.status_code == 400 and word in r.get_json()["error"], (body, r.get_json())
    assert not _calls(wvp_server, "/api/playback/start/")
    rng = {"start": (now - timedelta(hours=2)).strftime(f), "end": (now - timedelta(hours=1)).strftime(f)}
    wvp_server.playback_base = "http://10.66.6.6:80"  # a media server the page's CSP does not allow
    r = duty.post_json(f"/api/video/playback/{world['dome']}", rng)
    assert r.status_code == 409 and "10.66.6.6" in r.get_json()["error"]
    wvp_server.offline.add(world["device"])
    r = duty.post_json(f"/api/video/playback/{world['dome']}", rng)
    assert r.status_code == 502 and "设备离线" in r.get_json()["error"]
    far = _client(world, "duty_far", _env(wvp_server))
    assert far.post_json(f"/api/video/playback/{world['dome']}", rng).status_code == 403


def test_parse_range_is_pure_and_clips_the_end_to_now():
    now = datetime(2026, 11, 26, 9, 0)
    a, b = control.parse_range("2026-11-26T08:00", "2026-11-26 09:30:00", now)
    assert (a, b) == (datetime(2026, 11, 26, 8, 0), now)
    with pytest.raises(VideoError, match="最长"):
        control.parse_range("2026-11-24T08:00", "2026-11-25T08:01", now)


# ---- WebRTC ------------------------------------------------------------------------------------------------
OFFER = "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"


@pytest.mark.parametrize("template", [
    "{base}/index/api/webrtc?app=rtp&stream={parent_id}_{device_id}&type=play",  # ZLMediaKit: JSON answer
    "{base}/index/api/whep?app=rtp&stream={parent_id}_{device_id}",  # WHEP: 201 application/sdp
])
def test_webrtc_offer_and_answer_go_through_the_console_media_does_not(world, wvp_server, template):
    env = _env(wvp_server, PINGAN_VIDEO_WEBRTC=template.replace("{base}", wvp_server.url))
    env.pop("PINGAN_VIDEO_WVP_API")
    duty = _client(world, "duty", env)
    t = duty.get(f"/api/video/play/{world['dome']}?variant=webrtc").get_json()
    assert t["player"] == "webrtc" and t["url"].startswith("/api/video/webrtc/") and "webrtc" in t["variants"]
    r = duty.post(t["url"], data=OFFER, headers={"Origin": ORIGIN, "X-CSRFToken": duty.csrf,
                                                 "Content-Type": "application/sdp"})
    assert r.status_code == 201 and r.content_type == "application/sdp" and r.get_data(as_text=True).startswith("v=0")
    sent = [x for x in wvp_server.requests if x["path"].startswith("/index/api/")][-1]
    dev = world["device"]
    assert sent["method"] == "POST" and sent["body"] == OFFER.encode() and sent["query"]["stream"] == f"{dev}_{dev}"
    token = t["url"].rsplit("/", 1)[1]
    assert duty.get(f"/video/stream/{token}").status_code == 400  # not an address to open
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    r = duty.post(f"/api/video/webrtc/{forged}", data=OFFER, headers={"Origin": ORIGIN, "X-CSRFToken": duty.csrf})
    assert r.status_code == 403
    r = duty.post(t["url"], data="not sdp", headers={"Origin": ORIGIN, "X-CSRFToken": duty.csrf})
    assert r.status_code == 400 and "SDP" in r.get_json()["error"]
    wvp_server.rtc_refuse = True
    r = duty.post(t["url"], data=OFFER, headers={"Origin": ORIGIN, "X-CSRFToken": duty.csrf})
    assert r.status_code == 502 and "stream not found" in r.get_json()["error"]


def test_platform_settings_that_cannot_work_are_named():
    assert "PINGAN_VIDEO_WVP_PASSWORD" in VideoSettings.from_env(
        {"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://h", "PINGAN_VIDEO_WVP_USER": "a"}).problem
    assert "PINGAN_VIDEO_WEBRTC" in VideoSettings.from_env(
        {"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://h", "PINGAN_VIDEO_PREFER": "webrtc"}).problem
    assert "PINGAN_VIDEO_WVP_API" in VideoSettings.from_env(
        {"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://h", "PINGAN_VIDEO_WVP_API": "ftp://h"}).problem
    assert "PINGAN_VIDEO_API_TIMEOUT" in VideoSettings.from_env(
        {"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://h", "PINGAN_VIDEO_API_TIMEOUT": "0"}).problem
    ok = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "wvp", "PINGAN_VIDEO_BASE": "http://h",
                                 "PINGAN_VIDEO_WVP_API": "http://h:18080"})
    assert not ok.problem and control.client_for(ok).api == "http://h:18080"
    assert "http://h:18080" not in ok.origins()  # the browser never calls the platform


def test_stream_content_addresses_are_picked_per_player():
    content = {"hls": "", "https_hls": "https://m/rtp/a/hls.m3u8", "ws_flv": "ws://m/rtp/a.live.flv",
               "rtc": "http://m/index/api/webrtc?app=rtp&stream=a&type=play"}
    assert wvp.stream_urls(content) == {"hls": "https://m/rtp/a/hls.m3u8", "flv": "ws://m/rtp/a.live.flv",
                                        "webrtc": "http://m/index/api/webrtc?app=rtp&stream=a&type=play"}
    assert wvp.stream_urls({}) == {}


# ---- the gap ranking over HTTP ---------------------------------------------------------------------------
def test_coverage_gaps_rank_uncovered_key_places_by_risk(world):
    from console.store import Household
    from console.store.safety_models import KeyPlace

    with world["factory"]() as s:
        homes = s.execute(select(Household.grid_code, Household.lon, Household.lat, Household.village_code,
                                 Household.town_code).where(Household.county_code == world["county"])
                          .order_by(Household.grid_code)).all()
        by_grid = {}
        for h in homes:
            by_grid.setdefault(h.grid_code, h)
        grids = sorted(by_grid)
        low_grid, high_grid = grids[0], grids[-1]
        for k, (g, risk) in enumerate([(high_grid, "high"), (high_grid, "high"), (low_grid, "low")]):
            h = by_grid[g]
            s.add(KeyPlace(code=f"KP-T{k}", name=f"测试场所{k}", kind="school", risk_level=risk,
                           lon=h.lon + 0.01, lat=h.lat + 0.01, county_code=world["county"], town_code=h.town_code,
                           village_code=h.village_code, grid_code=g))
        s.commit()
    c = _client(world, "leader", {"PINGAN_VIDEO_GATEWAY": "template",
                                  "PINGAN_VIDEO_HLS": "http://10.9.0.7:8080/{device_id}/hls.m3u8"})
    body = c.get(f"/api/coverage?area={world['county']}&top=50").get_json()
    gaps = {g["grid_code"]: g for g in body["gaps"]}
    top = body["gaps"][0]
    assert top["grid_code"] == high_grid and top["rank"] == 1
    assert top["score"] == top["uncovered"] + 60 and top["uncovered_places_by_risk"] == {"high": 2}
    assert gaps[low_grid]["score"] == gaps[low_grid]["uncovered"] + 3
    scores = [g["score"] for g in body["gaps"]]
    assert scores == sorted(scores, reverse=True)
