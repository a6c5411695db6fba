"""巡查 and 随访 on the phone (docs/field.md §7–8) in a real Chromium emulating a Pixel 7: the worker goes offline,
starts a patrol, walks (emulated GPS, one fix of 3,000 m among them), checks in at a household, stops, records a
follow-up visit; back online, the queue syncs and the server holds each exactly once — one patrol with its track
and distance, one check-in, one visit — and a second replay adds nothing."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from console.field import track
from tests.browser.test_field_browser import phone, q  # noqa: F401 - phone: the Playwright fixture
from tests.browser.tinyworld import build
from tests.security_login import console_on_copy, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

WORKER = "xunchao_m"
GRID = "610924100200001"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build(tmp_path_factory.mktemp("patrol-browser") / "tiny.sqlite")


def test_an_offline_patrol_and_visit_sync_exactly_once(phone, tiny, tmp_path):  # noqa: F811
    playwright, chromium = phone
    SHOTS.mkdir(parents=True, exist_ok=True)
    (lon, lat), = q(tiny, "select label_lon, label_lat from grid where code=?", GRID)
    with console_on_copy(tiny, tmp_path, [(WORKER, ["grid_worker"], [GRID])]) as (base, _sessions):
        db = str(tmp_path / "w.sqlite")
        con = sqlite3.connect(db)  # a 公共安全 key place in the grid: a check-in target beside the households
        con.execute("insert into key_place (code, name, kind, risk_level, address, contact, synthetic, lon, lat, "
                    "county_code, town_code, village_code, grid_code) values ('KP-B-1', '紫阳第一小学', 'school', "
                    "'high', '', '', 0, ?, ?, ?, ?, ?, ?)", (lon, lat, GRID[:6], GRID[:9], GRID[:12], GRID))
        con.commit()
        con.close()
        pixel = dict(playwright.devices["Pixel 7"])
        pixel.pop("default_browser_type", None)
        context = chromium.new_context(**pixel, locale="zh-CN", timezone_id="Asia/Shanghai", permissions=["geolocation"],
                                       service_workers="allow",
                                       geolocation={"longitude": lon, "latitude": lat, "accuracy": 10})
        try:
            page = context.new_page()
            login_page(page, base, WORKER)
            page.goto(base + "/m/")
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30000)
            page.reload()
            page.wait_for_function("document.querySelector('#grid-summary').textContent.includes('户')", timeout=30000)
            page.wait_for_function("document.querySelector('#followup-summary').textContent.includes('特殊人群')")

            context.set_offline(True)
            page.reload()  # the shell (patrol.js and followup.js included) from the service worker's cache
            page.wait_for_function("document.querySelector('#net').textContent === '离线'")
            page.wait_for_function("document.querySelector('#checkin-target').options.length > 0")

            page.get_by_role("tab", name="巡查").click()
            page.locator("#patrol-start").click()
            page.wait_for_function("document.querySelector('#patrol-state').textContent.includes('巡查中')")
            walk = [(lon, lat, 10), (lon + 0.002, lat, 12), (lon + 0.05, lat + 0.05, 3000), (lon + 0.004, lat, 15)]
            for n, (x, y, acc) in enumerate(walk, start=1):
                context.set_geolocation({"longitude": x, "latitude": y, "accuracy": acc})
                page.wait_for_function(f"document.querySelector('#patrol-stats').textContent.startsWith('轨迹 {n} ')",
                                       timeout=30000)
            assert "1 个精度不足" in page.locator("#patrol-stats").inner_text()
            page.locator("#checkin").click()
            page.wait_for_function("document.querySelector('#checkins').children.length === 1")
            page.select_option("#checkin-target", label="公共安全 学校（校园周边） 紫阳第一小学（高风险）")
            page.locator("#checkin").click()
            page.wait_for_function("document.querySelector('#checkins').children.length === 2")
            page.locator("#patrol-map").scroll_into_view_if_needed()
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(SHOTS / "field-patrol.png"))
            page.locator("#patrol-stop").click()
            # start, the track so far at the first good fix, the check-in, the stop
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('5 条待上传')")

            page.get_by_role("tab", name=re.compile("随访")).click()
            page.locator("#followups li button").first.click()
            page.select_option("#visit-method", "phone")
            page.fill("#visit-date", "2026-11-25")  # the test server's clock is 2026-11-26
            page.fill("#visit-note", "电话联系，近况稳定，按时服药")
            page.screenshot(path=str(SHOTS / "field-visit-form.png"))
            page.locator("#visit-form button[type=submit]").click()
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('6 条待上传')")
            assert q(db, "select count(*) from patrol") == [(0,)]  # nothing reached the server yet

            context.set_offline(False)
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('0 条待上传')",
                                   timeout=30000)
            page.wait_for_function("document.querySelector('#followups').textContent.includes('上次 2026-11-25')",
                                   timeout=30000)  # the server's new due date, fetched after the upload
            page.screenshot(path=str(SHOTS / "field-followups.png"))

            patrols = q(db, "select worker, grid_code, points, distance_m, ended_at is not null, track from patrol")
            assert len(patrols) == 1
            who, grid, points, distance, ended, line = patrols[0]
            expected = track.haversine_m((lon, lat), (lon + 0.002, lat)) + track.haversine_m(
                (lon + 0.002, lat), (lon + 0.004, lat))
            assert (who, grid, points, ended) == (WORKER, GRID, 3, 1)
            assert distance == pytest.approx(expected, rel=0.01)  # the 3,000 m fix is not in the distance
            assert q(db, "select kind, household_id is not null, place_id from patrol_checkin order by id") == [
                ("household", 1, None), ("safety_place", 0, q(db, "select id from key_place where code='KP-B-1'")[0][0])]
            assert q(db, "select method, worker, visited_on, note from followup_visit where worker=?", WORKER) == [
                ("phone", WORKER, "2026-11-25", "电话联系，近况稳定，按时服药")]
            versions = q(db, "select r.kind, count(*) from field_record_version v join field_record r "
                             "on r.id=v.record_id group by r.kind order by r.kind")
            assert versions == [("checkin", 2), ("followup", 1), ("patrol", 3)]
            page.locator("#sync").click()  # another replay sends nothing again
            page.wait_for_timeout(1000)
            assert q(db, "select count(*) from field_record_version") == [(6,)]
            assert q(db, "select count(*) from followup_visit where worker=?", WORKER) == [(1,)]
        finally:
            context.close()
