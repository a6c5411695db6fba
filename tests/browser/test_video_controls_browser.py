"""The wall's platform controls in headless Chromium (docs/video.md "Platform API"): a fake wvp-GB28181-pro
(tests/fake_wvp.py) answers the documented API while the pictures come from the local nginx HLS path
(tests/media_server.py). Press-and-hold on a dome's PTZ pad sends a direction then "stop"; a playback range plays
the platform's address in the same player and closing the window releases it; the browser's own WebRTC offer
reaches the media server through the console; the ranked gap layer. Screenshots to docs/screenshots/."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from console.store import Camera, Household, make_engine, make_session_factory
from console.store.codes import CITY_CODE
from console.store.safety_models import KeyPlace
from tests.browser.tinyworld import build
from tests.fake_wvp import PASSWORD, USER, fake_wvp
from tests.media_server import media  # noqa: F401  (fixture: the local HLS server)
from tests.console_process import serving
from tests.security_login import add_account, login_page, security_settings

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory, media):
    from console.app import create_app
    from console.config import Settings
    from console.video.gateway import VideoSettings

    folder = tmp_path_factory.mktemp("videoctl")
    db = build(folder / "tiny.sqlite")
    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        online = s.scalars(select(Camera).where(Camera.status == "online").order_by(Camera.id)).all()
        ids = [c.id for c in online]
        devices = {c.id: c.device_id for c in online}
        county = online[0].county_code
        # two 高风险 places beside the households of the county's last grid, one 一般 place in its first
        homes = s.execute(select(Household).where(Household.county_code == county).order_by(Household.grid_code)).scalars().all()
        first, last = homes[0], homes[-1]
        for k, (h, risk) in enumerate([(last, "high"), (last, "high"), (first, "low")]):
            s.add(KeyPlace(code=f"KP-B{k}", name=f"{'危化仓库' if risk == 'high' else '集贸市场'}{k}", kind="hazard"
                           if risk == "high" else "market", risk_level=risk, lon=h.lon + 0.004, lat=h.lat + 0.003,
                           county_code=county, town_code=h.town_code, village_code=h.village_code,
                           grid_code=h.grid_code))
        s.commit()
    engine.dispose()
    add_account(db, "ctl_duty", roles=("duty_officer",), scope=(CITY_CODE,))
    add_account(db, "ctl_leader", roles=("city_leader",), scope=(CITY_CODE,))
    with fake_wvp(media) as fake:
        fake.playback_hls = media + "/live/playback/index.m3u8"
        video = VideoSettings.from_env({
            "PINGAN_VIDEO_GATEWAY": "template", "PINGAN_VIDEO_HLS": media + "/live/{device_id}/index.m3u8",
            "PINGAN_VIDEO_WEBRTC": fake.url + "/index/api/webrtc?app=rtp&stream={parent_id}_{device_id}&type=play",
            "PINGAN_VIDEO_WVP_API": fake.url, "PINGAN_VIDEO_WVP_USER": USER, "PINGAN_VIDEO_WVP_PASSWORD": PASSWORD,
            "PINGAN_VIDEO_API_TIMEOUT": "3"})
        assert video.problem == ""
        app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings(),
                         video_settings=video)
        with serving(app) as url:
            yield {"url": url, "ids": ids, "devices": devices, "fake": fake, "county": county}


def _page(chromium, site, user="ctl_duty", width=1600, height=1000):
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    login_page(page, site["url"], user)
    page.goto(site["url"] + "/video")
    page.wait_for_selector("#video-wall[data-ready='1'] .pa-video-window")
    return context, page


def _cam(cid):  # as the search answers it: domes carry ptz
    return {"id": cid, "name": f"球机{cid}", "ptz": True}


def _wait_playing(page, index, timeout=20_000):
    page.wait_for_function(
        f"() => {{ const w = window.pingan.video.state().windows[{index}]; return w && w.frames > 0 && w.time > 0.5; }}",
        timeout=timeout)


def _calls(site, prefix):
    return [r for r in site["fake"].requests if r["path"].startswith(prefix)]


def test_press_and_hold_on_a_dome_turns_it_and_release_stops(chromium, site):
    context, page = _page(chromium, site)
    try:
        page.click("#video-layout-4")
        page.evaluate(f"window.pingan.video.fill([{_cam(site['ids'][0])}])".replace("True", "true"))
        _wait_playing(page, 0)
        pad = ".pa-video-window[data-index='0'] .pa-video-ptz"
        assert page.is_visible(pad)
        assert not page.is_visible(".pa-video-window[data-index='1'] .pa-video-ptz")  # an empty window has none
        before = len(_calls(site, "/api/front-end/ptz/"))
        btn = page.locator(pad + " [data-ptz='left']")
        box = btn.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.wait_for_function("() => document.querySelector(\".pa-video-window[data-index='0']\").dataset.ptzLast === 'left:ok'")
        page.wait_for_timeout(300)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector(\".pa-video-window[data-index='0']\").dataset.ptzLast === 'stop:ok'")
        sent = [c["query"]["command"] for c in _calls(site, "/api/front-end/ptz/")[before:]]
        assert sent == ["left", "stop"]
        dev = site["devices"][site["ids"][0]]
        assert _calls(site, "/api/front-end/ptz/")[-1]["path"] == f"/api/front-end/ptz/{dev}/{dev}"
        # zoom by keyboard: Space held, then released
        page.focus(pad + " [data-ptz='zoomin']")
        page.keyboard.down(" ")
        page.wait_for_function("() => document.querySelector(\".pa-video-window[data-index='0']\").dataset.ptzLast === 'zoomin:ok'")
        page.keyboard.up(" ")
        page.wait_for_function("() => document.querySelector(\".pa-video-window[data-index='0']\").dataset.ptzLast === 'stop:ok'")
        # the platform says the device is offline: the status line says so
        site["fake"].offline.add(dev)
        page.dispatch_event(pad + " [data-ptz='up']", "pointerdown")
        page.wait_for_function("() => document.getElementById('video-status').textContent.includes('云台控制失败')")
        assert "设备离线" in page.inner_text("#video-status")
        page.dispatch_event(pad + " [data-ptz='up']", "pointerup")
        site["fake"].offline.discard(dev)
    finally:
        context.close()


def test_a_viewer_without_ptz_sees_no_pad(chromium, site):
    context, page = _page(chromium, site, user="ctl_leader")
    try:
        assert page.get_attribute("#video-wall", "data-ptz") == "0"
        page.evaluate(f"window.pingan.video.fill([{_cam(site['ids'][0])}])".replace("True", "true"))
        _wait_playing(page, 0)
        assert not page.is_visible(".pa-video-window[data-index='0'] .pa-video-ptz")
    finally:
        context.close()


def test_playback_of_a_range_plays_in_the_same_player_and_is_released(chromium, site):
    context, page = _page(chromium, site, width=1920, height=1080)
    try:
        page.click("#video-layout-4")
        cams = [_cam(i) for i in site["ids"][:4]]
        page.evaluate(f"window.pingan.video.fill({cams})".replace("True", "true").replace("'", '"'))
        for i in range(4):
            _wait_playing(page, i)
        page.evaluate("window.pingan.video.select(1)")
        start = (datetime.now() - timedelta(hours=2)).replace(second=0, microsecond=0)
        end = start + timedelta(minutes=45)
        page.fill("#video-pb-start", start.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#video-pb-end", end.strftime("%Y-%m-%dT%H:%M"))
        page.click("#video-pb-go")
        page.wait_for_function("() => window.pingan.video.state().windows[1].playback !== ''")
        _wait_playing(page, 1)
        w = page.evaluate("window.pingan.video.state()")["windows"][1]
        assert w["kind"] == "hls" and w["status"] == "playing"
        title = page.inner_text(".pa-video-window[data-index='1'] .pa-video-title")
        assert "回放 " + start.strftime("%Y-%m-%d %H:%M") in title
        assert not page.is_visible(".pa-video-window[data-index='1'] .pa-video-ptz")  # no PTZ on a recording
        sent = _calls(site, "/api/playback/start/")[-1]
        assert sent["query"]["startTime"] == start.strftime("%Y-%m-%d %H:%M:%S")
        page.hover(".pa-video-window[data-index='0']")  # the live dome's pad, for the screenshot
        page.wait_for_timeout(600)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "video-wall-controls.png"))
        page.click(".pa-video-window[data-index='1'] .pa-video-close")
        page.wait_for_function("() => document.querySelector(\".pa-video-window[data-index='1']\").dataset.status === 'idle'")
        page.wait_for_timeout(500)
        stops = _calls(site, "/api/playback/stop/")
        assert stops and stops[-1]["path"].endswith("/" + w["playback"])
        # a range the console refuses is said in the status line, in words
        page.evaluate("window.pingan.video.select(2)")
        page.fill("#video-pb-start", end.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#video-pb-end", start.strftime("%Y-%m-%dT%H:%M"))
        page.click("#video-pb-go")
        page.wait_for_function("() => document.getElementById('video-status').textContent.includes('晚于开始时间')")
    finally:
        context.close()


def test_webrtc_sends_the_browser_s_own_offer_through_the_console(chromium, site):
    context, page = _page(chromium, site)
    try:
        page.click("#video-layout-1")
        cam = site["ids"][0]
        before = len(_calls(site, "/index/api/webrtc"))
        page.evaluate(f"window.pingan.video.openInSelected({{id: {cam}, name: 'rtc'}}, 'webrtc')")
        page.wait_for_function(f"() => document.querySelector(\".pa-video-window[data-index='0']\").dataset.status === 'error'"
                               f" || false", timeout=15_000)
        sent = _calls(site, "/index/api/webrtc")[before:]
        assert len(sent) == 1
        offer = sent[0]["body"].decode()
        assert offer.startswith("v=0") and "m=video" in offer and "a=recvonly" in offer  # Chromium's own offer
        dev = site["devices"][cam]
        assert sent[0]["query"] == {"app": "rtp", "stream": f"{dev}_{dev}", "type": "play"}
        # the fake's answer has no media section: the window says WebRTC failed, in words
        msg = page.inner_text(".pa-video-window[data-index='0'] .pa-video-msg")
        assert "WebRTC" in msg
    finally:
        context.close()


def test_the_gap_layer_ranks_key_places_by_risk_screenshot(chromium, site):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        login_page(page, site["url"], "ctl_duty")
        page.goto(site["url"] + f"/?area={site['county']}")
        page.wait_for_selector("#ov-layer-switch")
        checked = page.locator("#ov-layer-switch input[type=checkbox]:checked")
        for _ in range(20):  # the gap layer alone, so no other layer's bubbles cover it
            if not checked.count():
                break
            checked.first.uncheck()
        page.get_by_label("监控覆盖缺口").check()
        page.wait_for_selector(".pa-bubble-coverage", timeout=30_000)
        page.wait_for_timeout(800)
        scores: list[int] = []
        for _ in range(5):  # at county zoom the top gap may sit in a cluster with its key places: open it
            scores = sorted((int(t) for t in page.locator(".pa-bubble-coverage[data-code]").all_inner_texts()
                             if t.strip().isdigit()), reverse=True)
            if scores and scores[0] >= 60:
                break
            clusters = page.locator(".pa-bubble-coverage:not([data-code])")
            if not clusters.count():
                break
            clusters.first.dispatch_event("click")
            page.wait_for_timeout(900)
        assert scores and scores[0] >= 60  # the grid owed two 高风险 places outranks plain household gaps
        top = page.locator(".pa-bubble-coverage", has_text=str(scores[0])).first
        assert "缺口第 1 名" in top.get_attribute("title") and "高风险 2" in top.get_attribute("title")
        box = top.bounding_box()  # drag the map so the top gap and its tooltip clear the layer panel
        page.mouse.move(box["x"] - 40, box["y"] + 200)
        page.mouse.down()
        page.mouse.move(box["x"] - 300, box["y"] + 260, steps=8)
        page.mouse.up()
        page.wait_for_timeout(500)
        top.hover()
        tip = page.locator(".leaflet-tooltip", has_text="缺口第")
        tip.wait_for()
        assert "缺口第 1 名" in tip.inner_text() and "高风险 2" in tip.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "coverage-gaps-ranked.png"))
    finally:
        context.close()
