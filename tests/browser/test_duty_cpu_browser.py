"""The 值班 page runs all day: headless Chromium's CPU (its whole process tree, psutil) while alerts stream in
and at rest stays small — nothing on the page redraws continuously (docs/duty.md §5)."""

from __future__ import annotations

import threading
import time

import psutil
import pytest
import requests

from tests.browser.test_duty_page_browser import CHROMIUM_ARGS, OFFICER, duty_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def chromium_seconds() -> float:
    """CPU seconds (user + system) of every Chromium process this test process started."""
    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name().lower():
                t = proc.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            pass
    return total


def cores_over(seconds: float) -> float:
    c0, t0 = chromium_seconds(), time.monotonic()
    time.sleep(seconds)
    return (chromium_seconds() - c0) / (time.monotonic() - t0)


def post_alerts(server, per_second: float, seconds: float, stop: threading.Event, sent: list):
    """Events that each raise an alert (a 社区矫正对象 outside the home county), at a steady pace."""
    lon, lat = server["ref"]["away"]
    session = requests.Session()
    t0 = time.monotonic()
    i = 0
    while not stop.is_set() and i < per_second * seconds:
        due = t0 + i / per_second
        time.sleep(max(0.0, due - time.monotonic()))
        r = session.post(server["url"] + "/api/events", headers={"X-API-Key": server["key"]}, json={
            "event_id": f"cpu-{time.time_ns()}-{i}", "type": "tag_position",
            "occurred_at": "2026-11-26T10:00:00+08:00", "person_id": server["ref"]["correction"],
            "location": {"lon": lon + (i % 50) * 1e-4, "lat": lat}})
        if r.status_code == 201:
            sent.extend(r.json()["alerts"])
        i += 1


def test_duty_page_cpu_under_alerts_and_at_rest(duty_server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    from tests.security_login import login_page

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        login_page(page, duty_server["url"], OFFICER)
        page.goto(duty_server["url"] + "/duty")
        expect(page.locator("#duty-count")).to_contain_text("未办结", timeout=20000)
        page.wait_for_timeout(3000)  # scripts parsed, first map drawn

        stop, sent = threading.Event(), []
        feeder = threading.Thread(target=post_alerts, args=(duty_server, 4.0, 12.0, stop, sent), daemon=True)
        feeder.start()
        time.sleep(2.0)  # a few alerts are on the map already
        busy = cores_over(8.0)
        stop.set()
        feeder.join()
        assert sent, "no alert was raised"
        expect(page.locator(f".ag-row[row-id='{sent[-1]}']")).to_have_count(1, timeout=5000)
        page.wait_for_timeout(3000)  # the last rows and markers drawn, the poll eased off
        rest = cores_over(10.0)  # what keeps running by itself
        browser.close()
    print(f"chromium cores: {busy:.3f} with ~4 alerts/s, {rest:.3f} at rest")
    assert busy <= 0.3, f"Chromium used {busy:.2f} cores while ~4 alerts/s came in"
    assert rest <= 0.05, f"Chromium used {rest:.3f} cores at rest"
