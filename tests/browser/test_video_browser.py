"""The video wall with a real media path (docs/video.md): ffmpeg's H.264 HLS (1-second segments) served by a local
nginx, played by headless Chromium in a wall window through the console's signed address — decoded frames > 0 and
currentTime advancing — and a snapshot downloaded as PNG. The same wall shows why other windows do not play
(offline, gateway unreachable, H.265 with its transcoded stream, the cap on concurrent streams), and 9 windows at
1920x1080 are saved to docs/screenshots/."""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from console.store import Alert, Camera, make_engine, make_session_factory
from console.store.codes import CITY_CODE
from tests.browser.tinyworld import build
from tests.console_process import local_port, serving
from tests.media_server import media  # noqa: F401  (fixture: the local HLS server)
from tests.security_login import add_account, login_page, security_settings

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
USER = "video_duty"
NOW = datetime(2026, 11, 26, 9, 0)


@pytest.fixture(scope="module")
def wall(tmp_path_factory, media):
    """A console whose gateway is the local nginx; three cameras given special addresses in the list."""
    from console.app import create_app
    from console.config import Settings
    from console.video.gateway import VideoSettings

    folder = tmp_path_factory.mktemp("videowall")
    db = build(folder / "tiny.sqlite")
    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        online = [c.device_id for c in s.scalars(select(Camera).where(Camera.status == "online").order_by(Camera.id))]
        cams = {c.device_id: c.id for c in s.scalars(select(Camera))}
        offline = s.scalars(select(Camera).where(Camera.status == "offline").order_by(Camera.id)).first().id
        first = s.get(Camera, cams[online[0]])
        alert = Alert(rule="r", kind="k", severity="high", state="new", title="人员聚集", raised_at=NOW, updated_at=NOW,
                      lon=first.lon + 0.0005, lat=first.lat, county_code=first.county_code, town_code=first.town_code,
                      village_code=first.village_code, grid_code=first.grid_code)
        s.add(alert)
        s.commit()
        alert_id = alert.id
    engine.dispose()
    dead = f"http://127.0.0.1:{local_port()}"  # nothing listens there: the gateway unreachable
    table = folder / "cams.csv"
    table.write_text("device_id,hls,h264,codec\n"
                     f"{online[1]},{dead}/live/x/hls.m3u8,,\n"
                     f"{online[2]},{media}/live/h265/index.m3u8,{media}/live/t/index.m3u8,h265\n"
                     f"{online[3]},{media}/live/hevc/master.m3u8,,\n", encoding="utf-8")
    add_account(db, USER, roles=("duty_officer",), scope=(CITY_CODE,))
    video = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "template",
                                    "PINGAN_VIDEO_HLS": media + "/live/{device_id}/index.m3u8",
                                    "PINGAN_VIDEO_FLV": media + "/live/{device_id}.live.flv",
                                    "PINGAN_VIDEO_URLS": str(table), "PINGAN_VIDEO_MAX_STREAMS": "9"})
    assert video.problem == ""
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings(),
                     video_settings=video)
    with serving(app) as url:
        yield {"url": url, "ids": [cams[d] for d in online], "offline": offline, "alert": alert_id}


def _page(chromium, wall, width=1600, height=1000, query=""):
    context = chromium.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    login_page(page, wall["url"], USER)
    page.goto(wall["url"] + "/video" + query)
    page.wait_for_selector("#video-wall[data-ready='1'] .pa-video-window")
    return context, page


def _cam(wall, cid, name=None):
    return {"id": cid, "name": name or f"摄像机{cid}"}


def _state(page):
    return page.evaluate("window.pingan.video.state()")


def _wait_playing(page, index, timeout=20_000):
    page.wait_for_function(
        f"() => {{ const w = window.pingan.video.state().windows[{index}]; return w && w.frames > 0 && w.time > 0.5; }}",
        timeout=timeout)


def test_a_wall_window_plays_the_local_hls_stream_and_takes_a_snapshot(chromium, wall, tmp_path):
    context, page = _page(chromium, wall)
    try:
        page.click("#video-layout-4")
        page.fill("#video-search", "摄像机")
        page.click("#video-search-btn")
        page.wait_for_selector(".pa-video-result")
        page.evaluate("window.pingan.video.select(0)")
        page.evaluate(f"window.pingan.video.openInSelected({_cam(wall, wall['ids'][0])})")
        _wait_playing(page, 0)
        first = _state(page)["windows"][0]
        page.wait_for_timeout(1500)
        later = _state(page)["windows"][0]
        assert first["kind"] == "hls" and later["status"] == "playing"
        assert later["frames"] > first["frames"] > 0 and later["time"] > first["time"]
        with page.expect_download() as dl:
            page.click(".pa-video-window[data-index='0'] .pa-video-snap")
        png = tmp_path / "snap.png"
        dl.value.save_as(png)
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (640, 360)  # the stream's own size, from the IHDR chunk
        assert dl.value.suggested_filename.startswith(f"摄像机{wall['ids'][0]}_")
        # the picture is the decoded test pattern, not an empty canvas: many distinct colours
        colours = page.evaluate("""() => new Promise(res => {
            const v = document.querySelector(".pa-video-window[data-index='0'] video");
            const c = document.createElement('canvas'); c.width = 160; c.height = 90;
            const g = c.getContext('2d'); g.drawImage(v, 0, 0, 160, 90);
            const d = g.getImageData(0, 0, 160, 90).data; const set = new Set();
            for (let i = 0; i < d.length; i += 4) set.add((d[i] >> 4) << 8 | (d[i+1] >> 4) << 4 | (d[i+2] >> 4));
            res(set.size); })""")
        assert colours > 50
    finally:
        context.close()


def test_windows_say_why_they_do_not_play_and_the_rest_of_the_wall_goes_on(chromium, wall):
    context, page = _page(chromium, wall)
    try:
        page.click("#video-layout-4")
        ids = wall["ids"]
        page.evaluate(f"window.pingan.video.fill([{_cam(wall, ids[0])}, {_cam(wall, wall['offline'])}, "
                      f"{_cam(wall, ids[1])}, {_cam(wall, ids[2])}])")
        _wait_playing(page, 0)
        page.wait_for_function("() => { const w = window.pingan.video.state().windows;"
                               " return w[1].status === 'error' && w[2].status === 'error' && w[3].status === 'error'; }",
                               timeout=20_000)
        w = _state(page)["windows"]
        assert w[1]["reason"] == "offline" and "离线" in w[1]["message"]
        assert w[2]["reason"] == "gateway_down" and "无法连接视频网关" in w[2]["message"]
        assert w[3]["reason"] == "h265" and "H.265" in w[3]["message"]
        transcode = page.locator(".pa-video-window[data-index='3'] .pa-video-transcode")
        assert transcode.is_visible()
        transcode.click()
        _wait_playing(page, 3)
        assert _state(page)["windows"][0]["status"] == "playing"  # the wall went on
    finally:
        context.close()


def test_the_cap_on_concurrent_streams_is_kept_with_a_message(chromium, wall):
    context, page = _page(chromium, wall)
    try:
        page.click("#video-layout-16")
        cams = ", ".join(str(_cam(wall, wall["ids"][0], f"窗口{i}")) for i in range(12))
        page.evaluate(f"window.pingan.video.fill([{cams}])")
        page.wait_for_timeout(500)
        state = _state(page)
        assert state["maxStreams"] == 9 and state["active"] == 9
        capped = [w for w in state["windows"][:12] if w["reason"] == "cap"]
        assert len(capped) == 3 and "上限 9 路" in capped[0]["message"]
        assert "上限 9 路" in page.inner_text("#video-status")
        page.click("#video-layout-1")  # fewer windows release their streams
        assert _state(page)["active"] <= 1
    finally:
        context.close()


def test_a_stalled_window_reconnects(chromium, wall):
    context, page = _page(chromium, wall)
    try:
        page.click("#video-layout-1")
        page.evaluate(f"window.pingan.video.openInSelected({_cam(wall, wall['ids'][0])})")
        _wait_playing(page, 0)
        page.evaluate("document.querySelector('.pa-video-window video').pause()")  # no progress from now on
        page.wait_for_function("() => window.pingan.video.state().windows[0].reconnects >= 1", timeout=20_000)
        _wait_playing(page, 0)
    finally:
        context.close()


def test_flv_plays_through_mpegts(chromium, wall):
    context, page = _page(chromium, wall)
    try:
        page.click("#video-layout-1")
        page.evaluate(f"window.pingan.video.openInSelected({_cam(wall, wall['ids'][0])}, 'flv')")
        _wait_playing(page, 0)
        assert _state(page)["windows"][0]["kind"] == "flv"
    finally:
        context.close()


def test_h265_declared_only_in_the_playlist_is_detected(chromium, wall):
    context, page = _page(chromium, wall)
    try:
        page.click("#video-layout-1")
        page.evaluate(f"window.pingan.video.openInSelected({_cam(wall, wall['ids'][3])})")
        page.wait_for_function("() => window.pingan.video.state().windows[0].status === 'error'", timeout=20_000)
        w = _state(page)["windows"][0]
        assert w["reason"] == "h265" and "H.265" in w["message"] and w["frames"] == 0
    finally:
        context.close()


def test_nine_windows_screenshot_at_1920x1080(chromium, wall):
    context, page = _page(chromium, wall, 1920, 1080)
    try:
        page.evaluate("document.documentElement.dataset.theme = 'dark'; "
                      "document.getElementById('app-root').className = 'pa-root pa-dark'")
        page.click("#video-layout-9")
        page.fill("#video-search", "")
        page.click("#video-search-btn")
        page.wait_for_selector(".pa-video-result")
        ids = wall["ids"]
        cams = [_cam(wall, ids[0])] + [_cam(wall, wall["offline"]), _cam(wall, ids[1]), _cam(wall, ids[2])] + \
            [_cam(wall, i) for i in ids[4:9]]
        page.evaluate(f"window.pingan.video.fill({cams})".replace("'", '"'))
        for i in (0, 4, 5):
            _wait_playing(page, i)
        page.wait_for_timeout(1500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "video-wall-9.png"))
    finally:
        context.close()


def test_nearby_cameras_of_an_alert_fill_the_wall_and_a_tour_cycles(chromium, wall):
    context, page = _page(chromium, wall, query=f"?alert={wall['alert']}")
    try:
        page.wait_for_function("() => document.getElementById('video-status').textContent.includes('附近在线摄像机')")
        assert "人员聚集" in page.inner_text("#video-status")
        _wait_playing(page, 0)
        state = _state(page)
        assert state["windows"][0]["camera"] == wall["ids"][0]  # the nearest online camera first
        assert wall["offline"] not in [w["camera"] for w in state["windows"]]
        # a tour over the search list, one camera per page, every second
        page.click("#video-layout-1")
        page.click("#video-search-btn")
        page.wait_for_selector(".pa-video-result")
        page.evaluate("""() => { const s = document.getElementById('video-tour-seconds');
            const o = document.createElement('option'); o.value = '1'; s.appendChild(o); s.value = '1'; }""")
        page.click("#video-tour")
        seen = set()
        for _ in range(8):
            seen.add(_state(page)["windows"][0]["camera"])
            page.wait_for_timeout(400)
        assert len(seen) >= 2 and "轮巡第" in page.inner_text("#video-status")
        page.click("#video-tour")
        assert "轮巡已停止" in page.inner_text("#video-status")
    finally:
        context.close()


def test_coverage_gap_layer_on_the_overview_screenshot(chromium, wall):
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        login_page(page, wall["url"], USER)
        page.goto(wall["url"] + "/?area=610924")
        page.wait_for_selector("#ov-layer-switch")
        page.get_by_label("监控覆盖缺口").check()
        page.wait_for_selector(".pa-bubble-coverage", timeout=30_000)
        bubble = page.locator(".pa-bubble-coverage").first
        assert int(bubble.inner_text().strip() or 0) > 0
        page.wait_for_timeout(800)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "coverage-gaps.png"))
    finally:
        context.close()


def test_an_expired_play_address_is_renewed_once_then_said(chromium, wall):
    context, page = _page(chromium, wall)
    answered = []

    def expire(route):  # the console's answer for an expired token, as routes/video.py gives it
        answered.append(route.request.url)
        if len(answered) == 1 or "always" in page.evaluate("window.__expire || ''"):
            route.fulfill(status=410, content_type="application/json; charset=utf-8",
                          body='{"error": "播放地址已过期，请重新打开", "reason": "token_expired"}')
        else:
            route.continue_()

    try:
        page.route("**/video/stream/**", expire)
        page.click("#video-layout-1")
        page.evaluate(f"window.pingan.video.openInSelected({_cam(wall, wall['ids'][0])})")
        _wait_playing(page, 0)
        assert len(answered) >= 2  # the first address refused as expired, a fresh one asked for and played
        page.evaluate("window.__expire = 'always'")
        page.evaluate(f"window.pingan.video.openInSelected({_cam(wall, wall['ids'][0])})")
        page.wait_for_function("() => window.pingan.video.state().windows[0].status === 'error'", timeout=20_000)
        w = _state(page)["windows"][0]
        assert w["reason"] == "token_expired" and "过期" in w["message"]
    finally:
        context.close()
