"""The 网格员 phone app (/m/, docs/field.md) in a real Chromium emulating a Pixel 7: logged in as a grid worker, the
service worker (workbox) takes over over http://127.0.0.1, the phone goes offline, the app reloads from the cache,
the worker reports an event (GPS fix, a photo) and registers a household, sees "N 条待上传", comes back online, and
the server holds each record exactly once; the counter returns to 0."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from sectest import worker_name
from tests.browser.tinyworld import build
from tests.security_login import PASSWORD, console_on_copy, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

WORKER = "wangge_m"
NAME = worker_name(WORKER)  # what the duty desk shows for that account (a synthetic Chinese name, tests/sectest.py)
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


def _alert(sessions, title: str, lon: float, lat: float) -> int:
    from datetime import datetime

    from console.store import Alert
    from console.store.duty_models import AlertInfo

    with sessions() as s:
        now = datetime(2026, 11, 26, 8, 0)
        alert = Alert(rule="r", kind="dispute", severity="medium", state="new", title=title, raised_at=now,
                      updated_at=now, lon=lon, lat=lat, county_code=GRID[:6], town_code=GRID[:9],
                      village_code=GRID[:12], grid_code=GRID)
        s.add(alert)
        s.flush()
        s.add(AlertInfo(alert_id=alert.id))
        s.commit()
        return alert.id


def _phone(playwright, chromium, lon, lat, **extra):
    pixel = dict(playwright.devices["Pixel 7"])
    pixel.pop("default_browser_type", None)
    return chromium.new_context(**pixel, locale="zh-CN", geolocation={"longitude": lon, "latitude": lat,
                                                                      "accuracy": 12},
                                permissions=["geolocation"], **extra)


def _duty_sees(desk, base, alert_id, text):
    """The duty desk, as the officer reads it: the alert's detail lists its phone task in this state."""
    desk.goto(base + "/duty")
    desk.locator(f".ag-row[row-id='{alert_id}'] [col-id='title']").click()
    desk.wait_for_function("t => (document.getElementById('duty-field-tasks') || {}).innerText?.includes(t)",
                           arg=text, timeout=20000)


def test_a_task_reaches_the_phone_and_its_report_reaches_the_duty_desk(phone, tiny, tmp_path):
    """派单 on the duty desk: 派往 is chosen from the grid's roster (not typed); the task appears on that worker's
    phone, who accepts, starts and reports back with text and a GPS place; the desk sees each state."""
    playwright, chromium = phone
    (lon, lat), = q(tiny, "select label_lon, label_lat from grid where code=?", GRID)
    accounts = [(WORKER, ["grid_worker"], [GRID]), ("wangge_b", ["grid_worker"], [GRID]),
                ("duty_m", ["duty_officer"], ["610900"])]
    with console_on_copy(tiny, tmp_path, accounts) as (base, sessions):
        db = str(tmp_path / "w.sqlite")
        alert_id = _alert(sessions, "村口纠纷升级", lon, lat)
        desktop = chromium.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
        context = _phone(playwright, chromium, lon, lat)
        try:
            desk = desktop.new_page()
            login_page(desk, base, "duty_m")
            desk.goto(base + "/duty")
            desk.locator(f".ag-row[row-id='{alert_id}'] [col-id='title']").click()
            # the roster's names, nearest on duty first; the first one preselected; no free-text box
            desk.wait_for_function("n => (document.getElementById('duty-roster') || {}).innerText?.includes(n)",
                                   arg=worker_name("wangge_b"))
            assert desk.locator("input#duty-assignee").count() == 0
            desk.click("#duty-assignee")
            options = desk.get_by_role("option").filter(has_text=" · ")  # the roster's entries
            options.first.wait_for(timeout=10000)
            assert [o.split(" · ")[0] for o in options.all_inner_texts()] == [worker_name("wangge_b"), NAME]
            assert not any(login in o for o in options.all_inner_texts() for login in ("wangge_b", WORKER))
            assert all("电话未登记" in o for o in options.all_inner_texts())
            desk.screenshot(path=str(SHOTS / "duty-dispatch-roster.png"))
            desk.get_by_role("option", name=re.compile(f"^{NAME} ·")).click()
            desk.fill("#duty-note", "请到场了解情况")
            desk.click("#duty-act-dispatch")
            desk.wait_for_function(f"(document.getElementById('duty-field-tasks') || {{}}).innerText?.includes("
                                   f"'{NAME}：已派单')", timeout=20000)
            assert q(db, "select assignee, state from field_task") == [(WORKER, "assigned")]

            page = context.new_page()
            page.on("dialog", lambda d: d.accept("已到场调解，双方和解"))
            login_page(page, base, WORKER)
            page.goto(base + "/m/")
            page.wait_for_function("document.querySelector('#grid-summary').textContent.includes('户')",
                                   timeout=30000)
            page.locator("#event-form .gps").click()  # the place the report carries
            page.wait_for_function("document.querySelector('#event-form .loc').textContent.includes('±12 米')")
            page.get_by_role("tab", name=re.compile("任务")).click()
            page.wait_for_function("document.querySelector('#tasks').textContent.includes('村口纠纷升级')")
            assert page.locator("#task-badge").inner_text() == "1"
            for button, state in (("接单", "已接单"), ("开始处置", "处置中"), ("回报", "已回报")):
                page.get_by_role("button", name=button).click()
                page.wait_for_function("s => document.querySelector('#tasks').textContent.includes('（' + s + '）')",
                                       arg=state, timeout=20000)
                page.wait_for_function("document.querySelector('#pending').textContent.startsWith('0 条待上传')",
                                       timeout=20000)
                _duty_sees(desk, base, alert_id, f"{NAME}：{state}")
            page.screenshot(path=str(SHOTS / "field-tasks.png"))
            desk.wait_for_timeout(1500)  # the map's fly-to settled
            desk.screenshot(path=str(SHOTS / "duty-task-reported.png"))
        finally:
            context.close()
            desktop.close()
        assert q(db, "select action, actor, accuracy_m from field_task_step order by id") == [
            ("dispatch", "duty_m", None), ("accept", WORKER, 12.0), ("handle", WORKER, 12.0), ("report", WORKER, 12.0)]
        assert q(db, "select state, report from field_task") == [("reported", "已到场调解，双方和解")]


def test_task_steps_taken_offline_are_sent_once_and_a_reassigned_task_is_kept_as_a_conflict(phone, tiny, tmp_path):
    """The phone offline: 接单 and 回报 on one task, 接单 on another that the duty desk meanwhile gives to another
    worker. Back online: the first task's steps arrive exactly once, the second changes nothing and is kept as a
    conflict for the supervisor; the phone says so."""
    playwright, chromium = phone
    (lon, lat), = q(tiny, "select label_lon, label_lat from grid where code=?", GRID)
    accounts = [(WORKER, ["grid_worker"], [GRID]), ("wangge_b", ["grid_worker"], [GRID]),
                ("duty_m", ["duty_officer"], ["610900"])]
    with console_on_copy(tiny, tmp_path, accounts) as (base, sessions):
        db = str(tmp_path / "w.sqlite")
        first, second = _alert(sessions, "河边护栏松动", lon, lat), _alert(sessions, "路口积水", lon, lat)
        duty = _duty_session(base, "duty_m")
        for alert_id in (first, second):
            assert duty.post(base + "/api/duty/tasks", json={"alert_id": alert_id, "assignee": WORKER,
                                                             "note": "请处理"}).status_code == 201
        context = _phone(playwright, chromium, lon, lat, service_workers="allow")
        try:
            page = context.new_page()
            page.on("dialog", lambda d: d.accept("护栏已临时加固"))
            login_page(page, base, WORKER)
            page.goto(base + "/m/")
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30000)
            page.reload()
            page.get_by_role("tab", name=re.compile("任务")).click()
            page.wait_for_function("document.querySelector('#tasks').textContent.includes('路口积水')", timeout=30000)

            context.set_offline(True)
            page.wait_for_function("document.querySelector('#net').textContent === '离线'")
            first_li, second_li = (page.locator("#tasks li", has_text=t) for t in ("河边护栏松动", "路口积水"))
            first_li.get_by_role("button", name="接单").click()
            first_li.get_by_role("button", name="回报").wait_for()
            first_li.get_by_role("button", name="回报").click()
            second_li.get_by_role("button", name="接单").click()
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('3 条待上传')")
            assert "已回报 · 待上传" in first_li.inner_text() and "已接单 · 待上传" in second_li.inner_text()
            page.screenshot(path=str(SHOTS / "field-task-offline.png"))
            assert q(db, "select count(*) from field_task_step where actor=?", WORKER) == [(0,)]
            # meanwhile the duty desk gives the second alert to another worker (改派)
            assert duty.post(base + "/api/duty/tasks", json={"alert_id": second, "assignee": "wangge_b",
                                                             "note": "改派"}).status_code == 201

            context.set_offline(False)
            page.wait_for_function("document.querySelector('#pending').textContent.startsWith('0 条待上传')",
                                   timeout=30000)
            page.wait_for_function("document.querySelector('#notice').textContent.includes('值班台已改动该任务')",
                                   timeout=20000)
            page.wait_for_function("document.querySelector('#tasks').textContent.includes('已改派')", timeout=20000)
            page.screenshot(path=str(SHOTS / "field-task-conflict.png"))
            page.locator("#sync").click()  # replayed again: nothing more
            page.wait_for_timeout(1000)
        finally:
            context.close()
        ids = dict(q(db, "select alert_id, id from field_task where assignee=?", WORKER))
        assert q(db, "select action, text from field_task_step where task_id=? and actor=? order by id",
                 ids[first], WORKER) == [("accept", ""), ("report", "护栏已临时加固")]
        assert q(db, "select state from field_task where id=?", ids[second]) == [("reassigned",)]
        assert q(db, "select count(*) from field_task_step where task_id=? and actor=?", ids[second], WORKER) == [(0,)]
        assert q(db, "select kind, count(*) from field_record group by kind") == [("task", 3)]
        assert q(db, "select count(*) from field_record_version") == [(3,)]
        assert q(db, "select status, author from field_conflict") == [("open", WORKER)]
