"""The 网格员 phone app (/m/, docs/field.md) in a real Chromium emulating a Pixel 7: logged in as a grid worker, the
service worker (workbox) takes over over http://127.0.0.1, the phone goes offline, the app reloads from the cache,
the worker reports an event (GPS fix, a photo) and registers a household, sees "N 条待上传", comes back online, and
the server holds each record exactly once; the counter returns to 0."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.browser.tinyworld import build
from tests.security_login import PASSWORD, console_on_copy, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

WORKER = "wangge_m"
GRID = "610924100200001"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 2000 + b"\xff\xd9"


@pytest.fixture(scope="module")
def phone():
    """Playwright and Chromium, with the device table (this module's own instance, like the `chromium` fixture)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield p, browser
        browser.close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build(tmp_path_factory.mktemp("field-browser") / "tiny.sqlite")


def q(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _pending(page) -> str:
    return page.locator("#pending").inner_text()


def test_offline_forms_sync_exactly_once(phone, tiny, tmp_path):
    playwright, chromium = phone
    SHOTS.mkdir(parents=True, exist_ok=True)
    (lon, lat), = q(tiny, "select label_lon, label_lat from grid where code=?", GRID)
    with console_on_copy(tiny, tmp_path, [(WORKER, ["grid_worker"], [GRID])]) as (base, sessions):
        db = str(tmp_path / "w.sqlite")
        pixel = dict(playwright.devices["Pixel 7"])
        pixel.pop("default_browser_type", None)
        context = chromium.new_context(**pixel, locale="zh-CN", geolocation={"longitude": lon, "latitude": lat,
                                                                             "accuracy": 18},
                                       permissions=["geolocation"], service_workers="allow")
        try:
            page = context.new_page()
            login_page(page, base, WORKER)
            page.goto(base + "/m/")
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30000)
            page.reload()  # now the grid data passes through the service worker and is cached too
            page.wait_for_function("document.querySelector('#grid-summary').textContent.includes('户')",
                                   timeout=30000)
            assert page.evaluate("caches.has('pingan-field-grid')")
            assert _pending(page).startswith("0 条待上传")

            context.set_offline(True)
            page.reload()  # the app shell comes from the service worker's precache
            page.wait_for_function("document.querySelector('#net').textContent === '离线'")
            page.wait_for_function("document.querySelector('#grid-summary').textContent.includes('户')")

            # 事件上报 with a GPS fix (accuracy kept) and a photo
            page.select_option("#event-type", "safety")
            page.fill("#event-text", "村口桥边护栏松动，需尽快加固")
            page.locator("#event-form .gps").click()
            page.wait_for_function("document.querySelector('#event-form .loc').textContent.includes('±18 米')")
            page.set_input_files("#event-form input[type=file]",
                                 files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
            page.locator("#event-form button[type=submit]").click()
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('2 条待上传')")

            # 住户登记: a new household, grid chosen from the list
            page.get_by_role("tab", name="住户登记").click()
            page.fill("#hh-address", "紫阳县测试镇新村路8号")
            page.select_option("#hh-kind", "rental")
            page.fill("#hh-size", "3")
            page.fill("#hh-head", "赵六")
            page.select_option("#household-form .grid-select", GRID)
            page.locator("#household-form .pick").click()  # 地图选点 on the grid's outline, kept offline
            page.wait_for_selector("#household-form svg.map path")
            page.locator("#household-form svg.map").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "field-map-pick.png"))
            page.locator("#household-form svg.map").click()
            page.wait_for_function("document.querySelector('#household-form .loc').textContent.includes('地图选点')")
            page.locator("#household-form button[type=submit]").click()
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('3 条待上传')")
            page.get_by_role("tab", name="事件上报").click()
            page.screenshot(path=str(SHOTS / "field-offline.png"))
            assert q(db, "select count(*) from field_record") == [(0,)]  # nothing reached the server yet

            context.set_offline(False)
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('0 条待上传')",
                                   timeout=30000)
            page.screenshot(path=str(SHOTS / "field-synced.png"))
            page.get_by_role("tab", name="我的网格").click()
            page.screenshot(path=str(SHOTS / "field-grid.png"))

            rows = q(db, "select kind, payload, grid_code, accuracy_m, accuracy_flag, created_by, location_source "
                         "from field_record order by kind")
            assert [(r[0], r[2], r[5]) for r in rows] == [("event", GRID, WORKER), ("household", GRID, WORKER)]
            assert rows[0][3] == 18 and rows[0][4] == 0 and rows[1][6] == "map" and rows[0][6] == "gps"
            with sessions() as s:  # the payloads are encrypted at rest: read them through the store
                from console.store.field_models import FieldRecord

                texts = {r.kind: r.payload for r in s.query(FieldRecord)}
            assert "护栏松动" in texts["event"] and "新村路8号" in texts["household"] and rows[1][6] == "map" and rows[0][6] == "gps"
            assert q(db, "select count(*) from field_record_version") == [(2,)]  # each stored exactly once
            assert q(db, "select status, size from field_photo") == [("complete", len(JPEG))]
            # a second replay (the app's timer, another 'online') sends nothing again
            page.locator("#sync").click()
            page.wait_for_timeout(1000)
            assert q(db, "select count(*) from field_record_version") == [(2,)]
        finally:
            context.close()


def _duty_session(base: str, username: str):
    import re

    import requests

    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
    r = s.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
               headers={"Origin": base}, allow_redirects=False)
    assert r.status_code == 303
    s.get(base + "/api/alerts/changes?cursor=0")
    s.headers.update({"X-CSRFToken": s.cookies.get("_csrf_token", ""), "Origin": base})
    return s


def test_a_task_reaches_the_phone_and_its_report_reaches_the_duty_desk(phone, tiny, tmp_path):
    from datetime import datetime

    from console.store import Alert
    from console.store.duty_models import AlertInfo

    playwright, chromium = phone
    accounts = [(WORKER, ["grid_worker"], [GRID]), ("duty_m", ["duty_officer"], ["610900"])]
    with console_on_copy(tiny, tmp_path, accounts) as (base, sessions):
        with sessions() as s:
            now = datetime(2026, 11, 26, 8, 0)
            alert = Alert(rule="r", kind="dispute", severity="medium", state="new", title="村口纠纷升级", raised_at=now,
                          updated_at=now, county_code=GRID[:6], town_code=GRID[:9], village_code=GRID[:12],
                          grid_code=GRID)
            s.add(alert)
            s.flush()
            s.add(AlertInfo(alert_id=alert.id))
            s.commit()
            alert_id = alert.id
        duty = _duty_session(base, "duty_m")
        sent = duty.post(base + "/api/duty/tasks", json={"alert_id": alert_id, "assignee": WORKER,
                                                         "note": "请到场了解情况"})
        assert sent.status_code == 201, sent.text
        pixel = dict(playwright.devices["Pixel 7"])
        pixel.pop("default_browser_type", None)
        context = chromium.new_context(**pixel, locale="zh-CN")
        try:
            page = context.new_page()
            page.on("dialog", lambda d: d.accept("已到场调解，双方和解"))
            login_page(page, base, WORKER)
            page.goto(base + "/m/")
            page.get_by_role("tab", name=re.compile("任务")).click()
            page.wait_for_function("document.querySelector('#tasks').textContent.includes('村口纠纷升级')")
            assert page.locator("#task-badge").inner_text() == "1"
            page.get_by_role("button", name="接单").click()
            page.wait_for_function("document.querySelector('#tasks').textContent.includes('已接单')")
            page.get_by_role("button", name="回报").click()
            page.wait_for_function("document.querySelector('#tasks').textContent.includes('已回报')")
            page.screenshot(path=str(SHOTS / "field-tasks.png"))
        finally:
            context.close()
        seen = duty.get(base + f"/api/duty/tasks?alert_id={alert_id}").json()["tasks"]
        assert [st["to_state"] for st in seen[0]["steps"]] == ["已派单", "已接单", "已回报"]
        assert seen[0]["report"] == "已到场调解，双方和解"
