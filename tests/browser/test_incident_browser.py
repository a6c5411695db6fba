"""突发事件指挥 in the browser (docs/safety.md): a duty officer raises an alert on the duty desk to an incident at the
plan's level; the incident page assembles the nearest online cameras on a wall that plays the local test stream,
the grid workers around (phones masked), the key places within the level's radius and the timeline; the overview
shows the active incident and the 公共安全 layers. Screenshots at 1920×1080 (docs/screenshots/)."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from console.store import Alert, make_engine, make_session_factory
from console.store.safety_models import KeyPlace
from console.store.codes import CITY_CODE
from tests.browser.conftest import CHROMIUM_ARGS
from tests.media_server import ensure_tools, media_server
from tests.console_process import serving
from tests.security_login import add_account, login_page, security_settings

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
USER = "incident_duty"
NOW = datetime(2026, 11, 26, 1, 0)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    why = ensure_tools()
    if why:
        pytest.skip(why)
    with media_server(tmp_path_factory.mktemp("media"), seconds=60) as base:
        yield base


@pytest.fixture(scope="module")
def hall(small_world_db, tmp_path_factory, media):
    """The small demo world with an alert beside the key place that has the most online cameras around it."""
    from console.app import create_app
    from console.config import Settings
    from console.video.gateway import VideoSettings

    db = str(tmp_path_factory.mktemp("incident") / "world.sqlite")
    shutil.copy(small_world_db, db)
    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s, s.begin():
        best = s.execute(text(
            "SELECT k.id, count(c.id) AS n FROM key_place k JOIN camera c ON c.status = 'online' "
            "AND c.lon BETWEEN k.lon - 0.004 AND k.lon + 0.004 AND c.lat BETWEEN k.lat - 0.004 AND k.lat + 0.004 "
            "GROUP BY k.id ORDER BY n DESC, k.id LIMIT 1")).one()
        place = s.get(KeyPlace, best.id)
        alert = Alert(rule="crowd", kind="crowd", severity="high", state="new", title=f"{place.name}门前人员聚集",
                      raised_at=NOW, updated_at=NOW, lon=place.lon + 0.0002, lat=place.lat,
                      **{c: getattr(place, c) for c in ("county_code", "town_code", "village_code", "grid_code",
                                                        "assign_generation")})
        s.add(alert)
        s.flush()
        info = {"alert": alert.id, "place": place.name, "county": place.county_code, "cameras_near": best.n}
    engine.dispose()
    add_account(db, USER, roles=("duty_officer",), scope=(CITY_CODE,))
    video = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "template",
                                    "PINGAN_VIDEO_HLS": media + "/live/{device_id}/index.m3u8",
                                    "PINGAN_VIDEO_MAX_STREAMS": "16"})
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings(),
                     video_settings=video)
    with serving(app) as url:
        yield {"url": url, "db": db, **info}


def test_raise_an_incident_on_the_duty_desk_and_see_the_assembly(hall):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        login_page(page, hall["url"], USER)
        page.goto(hall["url"] + "/duty")
        row = page.locator(f".ag-row[row-id='{hall['alert']}']")
        expect(row).to_have_count(1, timeout=20000)
        row.locator("[col-id='title']").click()
        expect(page.locator("#duty-detail-title")).to_contain_text(hall["place"], timeout=15000)
        page.wait_for_timeout(1500)  # the desk's map flies to the alert: leave it once it has landed
        page.locator("#duty-raise-incident").click()
        # the raise form: the plan's level for a 严重 alert is Ⅱ级; the officer raises it to Ⅰ级
        expect(page.locator("#inc-alert-title")).to_contain_text(hall["place"], timeout=15000)
        expect(page.locator(f"#{'inc-level'}")).to_contain_text("Ⅱ级（重大）")
        page.locator("#inc-level").click()
        page.get_by_text("Ⅰ级（特别重大）", exact=True).click()
        page.locator("#inc-raise").click()
        expect(page.locator("#inc-level-label")).to_have_text("Ⅰ级（特别重大）", timeout=20000)
        expect(page.locator("#inc-places li").first).to_contain_text(hall["place"])
        expect(page.locator("#inc-workers li").first).to_contain_text("****")  # phones masked
        expect(page.locator("#inc-timeline li")).to_have_count(1)
        # the wall: 16 windows, filled with the nearest online cameras, playing the local stream
        page.wait_for_selector("#video-wall[data-ready='1'] .pa-video-window", timeout=15000)
        page.wait_for_function("() => window.pingan.video.state().windows.length === 16")
        page.wait_for_function("() => { const w = window.pingan.video.state().windows[0];"
                               " return w && w.frames > 0 && w.time > 0.5; }", timeout=30000)
        cams = page.locator("#inc-cameras li").count()
        assert cams == min(16, cams) and cams >= 1
        state = page.evaluate("window.pingan.video.state()")
        assert sum(1 for w in state["windows"] if w["camera"]) == cams
        page.locator("#inc-log-note").fill("已调派城关派出所民警 6 人到场维持秩序")
        page.locator("#inc-log").click()
        expect(page.locator("#inc-timeline li")).to_have_count(2, timeout=10000)
        expect(page.locator("#inc-timeline")).to_contain_text("已调派城关派出所民警")
        page.evaluate("document.querySelector('.pa-incident-side').scrollTop = 0")
        page.wait_for_timeout(1500)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "incident-command.png"))
        # the handover report holds the same lists; printing shows it alone
        report = page.locator("#inc-report")
        assert "突发事件交接报告" in report.inner_text() or report.count() == 1
        page.emulate_media(media="print")
        expect(report).to_be_visible()
        expect(report).to_contain_text("处置时间线")
        page.screenshot(path=str(SHOTS / "incident-handover-print.png"))
        page.emulate_media(media="screen")
        # the same alert again: the page opens the running incident instead of a second raise
        page.goto(hall["url"] + f"/incident?alert={hall['alert']}")
        expect(page.locator("#inc-level-label")).to_have_text("Ⅰ级（特别重大）", timeout=20000)
        assert page.locator("#inc-raise").count() == 0
        # the overview: the active incident, the key places and the 护路护线 sections of the county
        page.goto(hall["url"] + f"/?area={hall['county']}")
        page.wait_for_selector("#ov-layer-switch")
        page.get_by_label("重点场所").check()
        page.get_by_label("护路护线").check()
        page.wait_for_selector(".pa-icon .pa-alert", timeout=30000)  # the incident marker (on by default)
        lines = page.evaluate(f"fetch('/api/layers/safetylines.geojson?area={hall['county']}').then(r => r.json())")
        assert lines["features"] and all(f["geometry"]["type"] == "LineString" for f in lines["features"])
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "safety-layers.png"))
        # 监控覆盖缺口 with the key places no online camera sees (dots by risk level) in the town of the incident
        page.get_by_label("重点场所").uncheck()
        page.get_by_label("护路护线").uncheck()
        page.get_by_label("特殊人群").uncheck()
        page.get_by_label("矛盾纠纷").uncheck()
        page.get_by_label("监控覆盖缺口").check()
        page.wait_for_selector(".pa-bubble-coverage", timeout=30000)
        cov = page.evaluate(f"fetch('/api/layers/coverage.geojson?area={hall['county']}').then(r => r.json())")
        assert any("重点场所已覆盖" in (f["properties"].get("area") or "") for f in cov["features"])
        page.wait_for_timeout(1500)
        page.screenshot(path=str(SHOTS / "coverage-keyplaces.png"))
        browser.close()
    assert not errors, errors
