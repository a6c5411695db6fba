"""Browser: a village account opens 特殊人群随访 cold from a bookmark, sees who is overdue (masked), selects a person
and records a visit; after a reload the person's last visit is today and the due date has moved
(docs/import.md, 特殊人群随访)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from tests.security_login import console_on_copy, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_a_village_records_a_visit_and_the_due_date_moves(small_world_db, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sqlite3.connect(small_world_db) as c:
        village, = c.execute("SELECT village_code FROM special_person WHERE grid_code IS NOT NULL "
                             "GROUP BY village_code ORDER BY COUNT(*) DESC LIMIT 1").fetchone()
    with console_on_copy(small_world_db, tmp_path, [("fu_village", ["village"], [village])]) as (url, sessions), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        login_page(page, url, "fu_village")
        page.goto(f"{url}/followup?area={village}")
        expect(page.get_by_role("heading", name="特殊人群随访", exact=False)).to_be_visible(timeout=30000)
        first = page.locator("#fu-grid .ag-center-cols-container .ag-row").first
        expect(first).to_be_visible(timeout=30000)
        name = page.locator("#fu-grid .ag-row[row-index='0'] [col-id='姓名']").first.inner_text()
        number = page.locator("#fu-grid .ag-row[row-index='0'] [col-id='公民身份号码']").first.inner_text()
        assert "*" in number  # masked
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "followup-village-1920.png"), full_page=True)
        first.click()
        page.get_by_placeholder("随访情况（可选）").fill("入户走访，情况稳定")
        page.get_by_role("button", name="保存").click()
        expect(page.locator("#fu-message")).to_contain_text(f"已登记 {name}", timeout=30000)
        page.reload()
        expect(page.locator("#fu-grid .ag-row").first).to_be_visible(timeout=30000)
        today = date.today().isoformat()
        row = page.locator("#fu-grid .ag-row", has_text=name).first
        expect(row.locator("[col-id='上次随访']")).to_have_text(today)
        browser.close()
