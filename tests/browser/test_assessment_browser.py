"""Browser: a leader opens 督导考评 cold from a bookmark, reads the city's counties ranked by name, drills into a
county and down to a village whose grid workers are ranked; every label is Chinese. Screenshots in
docs/screenshots/ (docs/assessment.md)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from assessment_month import COUNTIES, MONTH, write_month
from console.store.codes import CITY_CODE
from tests.security_login import console_on_copy, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LATIN = re.compile(r"\b[A-Za-z]{3,}\b")


@pytest.fixture()
def console(small_world_db, tmp_path):
    db = write_month(small_world_db, tmp_path / "month.sqlite")
    (tmp_path / "served").mkdir()
    with console_on_copy(db, tmp_path / "served", [("as_leader", ["city_leader"], [CITY_CODE])]) as served:
        yield served, db


def test_a_leader_drills_from_the_city_to_a_village_and_its_workers(console):
    from playwright.sync_api import expect, sync_playwright

    (url, _sessions), db = console
    with sqlite3.connect(db) as c:
        village, = c.execute("SELECT village_code FROM patrol GROUP BY village_code ORDER BY COUNT(*) DESC").fetchone()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
        login_page(page, url, "as_leader")
        page.goto(f"{url}/assessment?month={MONTH.key}")
        expect(page.get_by_role("heading", name="督导考评 · 安康市")).to_be_visible(timeout=30000)
        expect(page.get_by_text("下级排名（10）")).to_be_visible()
        expect(page.locator(".pa-assessment .js-plotly-plot")).to_be_visible()
        text = page.locator(".pa-assessment").inner_text()
        assert "汉滨区" in text and "汉阴县" in text and "巡查覆盖率" in text and COUNTIES[0] not in text
        assert not set(LATIN.findall(text)) - {"Excel"}, LATIN.findall(text)  # a product name is allowed
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "assessment-city-1920.png"), full_page=True)

        page.get_by_role("link", name="汉阴县", exact=True).first.click()
        expect(page.get_by_role("heading", name="督导考评 · 汉阴县")).to_be_visible(timeout=30000)
        assert f"area={COUNTIES[1]}" in page.url and f"month={MONTH.key}" in page.url

        page.goto(f"{url}/assessment?area={village}&month={MONTH.key}")
        expect(page.get_by_text(re.compile(r"网格员排名（\d+）"))).to_be_visible(timeout=30000)
        workers = page.locator("table").nth(1).inner_text()
        assert "gw0" in workers or "gw1" in workers
        page.screenshot(path=str(SHOTS / "assessment-village-1920.png"), full_page=True)
        browser.close()
