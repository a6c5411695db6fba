"""The duty desk around one alert (docs/duty.md §5): the reporter's text and names (not codes) in
the details and the list, the alert's grid and the cameras near it on the map, action buttons enabled only for
the transitions the alert's state allows, and a resolved alert leaving the 未办结 list."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
import requests

from tests.browser.test_duty_page_browser import CHROMIUM_ARGS, OFFICER, duty_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots" if os.environ.get("PINGAN_SHOTS") else Path(tempfile.gettempdir())
REPORT = "村口约四十人聚集，情绪激动，请速派人"
BUTTONS = {"acknowledge": "签收", "dispatch": "派单", "escalate": "上报", "resolve": "办结", "false_alarm": "误报"}

# Leaflet maps of the page, seen through Leaflet's public init hook (installed before any page script).
OBSERVE = """(() => {
    window.__paMaps = [];
    let leaflet;
    Object.defineProperty(window, 'L', {configurable: true, enumerable: true, get() { return leaflet; },
        set(v) { leaflet = v;
            if (v && v.Map && !v.Map.__paObserved) { v.Map.__paObserved = true;
                v.Map.addInitHook(function () { window.__paMaps.push(this); }); } }});
})();"""
CAMERAS_ON_MAP = """() => { let n = 0; const m = window.__paMaps[0];
    m.eachLayer(l => { if (l.getTooltip && l.getTooltip() && /米）$/.test(l.getTooltip().getContent().textContent || ''))
        { n += 1; } }); return n; }"""


def enabled(page) -> set[str]:
    return {k for k in BUTTONS if page.locator(f"#duty-act-{k}").is_enabled()}


def test_duty_desk_shows_names_report_map_and_valid_actions(duty_server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.security_login import login_page

    ref = duty_server["ref"]
    con = sqlite3.connect(duty_server["db"])
    grid_name = con.execute("select name from grid where code=? and generation_high is null",
                            (ref["grid"],)).fetchone()[0]
    lon, lat = ref["grid_point"]
    near = con.execute("select count(*) from camera where lon between ? and ? and lat between ? and ?",
                       (lon - 0.05, lon + 0.05, lat - 0.05, lat + 0.05)).fetchone()[0]
    con.close()
    r = requests.post(duty_server["url"] + "/api/events", headers={"X-API-Key": duty_server["key"]}, json={
        "event_id": "desk-1", "type": "dispute_report", "occurred_at": "2026-11-26T10:00:00+08:00",
        "grid_code": ref["grid"], "location": {"lon": lon, "lat": lat},
        "payload": {"category": "land", "scale": 40, "text": REPORT}})
    assert r.status_code == 201, r.text
    alert_id = r.json()["alerts"][0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.add_init_script(OBSERVE)
        login_page(page, duty_server["url"], OFFICER)
        page.goto(duty_server["url"] + "/duty")
        row = page.locator(f".ag-row[row-id='{alert_id}']")
        expect(row).to_have_count(1, timeout=20000)
        # the list's grid column reads the grid's name (the code on hover), never the 15-digit code
        expect(row.locator("[col-id='grid_name']")).to_have_text(grid_name)
        assert ref["grid"] not in row.inner_text()
        assert enabled(page) == set(), "action buttons are active before any alert is chosen"

        row.locator("[col-id='title']").click()
        detail = page.locator(".pa-duty-detail")
        expect(detail.locator("#duty-detail-report")).to_have_text(REPORT, timeout=10000)
        expect(detail).to_contain_text(grid_name)
        assert ref["grid"] not in detail.inner_text()
        expect(detail).to_contain_text("测试来源")  # the source's title, not its key name and the event id
        assert "desk-1" not in detail.inner_text()
        expect(page.locator("#duty-act-resolve")).to_be_disabled(timeout=5000)
        assert enabled(page) == {"acknowledge", "dispatch", "escalate", "false_alarm"}  # state: 新
        # the map around it: the alert's grid labelled, the cameras within 5 km
        expect(page.locator(".pa-duty-map .area-label", has_text=grid_name)).to_have_count(1, timeout=10000)
        page.wait_for_timeout(1500)  # fly-to settled
        assert page.evaluate(CAMERAS_ON_MAP) == near
        page.screenshot(path=str(SHOTS / "duty_desk_selected.png"))

        page.click("#duty-act-acknowledge")
        expect(row).to_contain_text("已签收", timeout=5000)
        expect(page.locator("#duty-act-acknowledge")).to_be_disabled(timeout=5000)
        assert enabled(page) == {"dispatch", "escalate", "resolve", "false_alarm"}

        page.fill("#duty-note", "已到场劝散，双方同意调解")
        page.click("#duty-act-resolve")
        # resolved: out of the 未办结 list (the default filter), no action left to take
        expect(row).to_have_count(0, timeout=5000)
        expect(page.locator("#duty-act-dispatch")).to_be_disabled(timeout=5000)
        assert enabled(page) == set()
        browser.close()
