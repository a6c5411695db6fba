"""Browser: the console speaks Chinese where libraries bring English (AG Grid, Plotly, the drawing tool), says
暂无数据 where nothing is, and hides what does not apply ("下辖区划 0" at grid level)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from console.store.codes import CITY_CODE
from tests.security_login import console_on_copy, login_page

pytestmark = pytest.mark.browser
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LATIN = re.compile(r"[A-Za-z]{3,}")


@pytest.fixture()
def console(small_world_db, tmp_path):
    accounts = [("zh_city", ["county"], [CITY_CODE]), ("zh_duty", ["duty_officer"], [CITY_CODE]),
                ("zh_planner", ["grid_planner"], [CITY_CODE])]
    with console_on_copy(small_world_db, tmp_path, accounts) as served:
        yield served


def quiet_grid(db: str) -> str:
    """A current grid without any dispute (its trend chart has nothing to show)."""
    con = sqlite3.connect(db)
    code = con.execute("select code from grid where generation_high is null and code not in"
                       " (select grid_code from dispute where grid_code is not null) order by code").fetchone()[0]
    con.close()
    return code


def test_libraries_in_chinese_and_empty_states(console, small_world_db):
    from playwright.sync_api import expect, sync_playwright

    url, _sessions = console
    grid = quiet_grid(small_world_db)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        login_page(page, url, "zh_city")

        # a grid: no "下辖区划 0"; the empty trend chart says 暂无数据 (no axes around nothing)
        page.goto(f"{url}/?area={grid}")
        expect(page.locator("#kpi-residents")).to_be_visible(timeout=30000)
        expect(page.locator("#ov-trend .annotation-text")).to_have_text("暂无数据", timeout=30000)
        assert page.locator("#ov-trend .xtick").count() == 0
        assert "下辖" not in page.locator(".pa-kpis").inner_text()
        assert page.evaluate("() => document.querySelector('#ov-trend')._context.locale") == "zh-CN"

        # Plotly's own texts (the mode bar of the statistics charts) in Chinese, month axes not "Jan 2026"
        page.goto(url + "/disputes/stats")
        page.click("#ds-run")
        expect(page.locator("#ds-trend .modebar-btn").first).to_be_attached(timeout=30000)
        titles = page.eval_on_selector_all("#ds-trend .modebar-btn", "els => els.map(e => e.dataset.title)")
        assert titles and not [t for t in titles if LATIN.search((t or "").replace("PNG", ""))], titles
        ticks = page.eval_on_selector_all("#ds-trend .xtick text", "els => els.map(e => e.textContent)")
        assert ticks
        assert not [t for t in ticks if LATIN.search(t)], ticks
        context.close()

        # AG Grid's empty state in Chinese (duty list filtered to a state nobody is in)
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        login_page(page, url, "zh_duty")
        page.goto(url + "/duty")
        expect(page.locator("#duty-count")).to_contain_text("未办结", timeout=20000)
        expect(page.locator("#duty-list .ag-overlay")).to_contain_text("暂无数据", timeout=20000)
        assert "No Rows" not in page.locator("body").inner_text()
        context.close()

        # the drawing tool's toolbar and tooltips
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        login_page(page, url, "zh_planner")
        con = sqlite3.connect(small_world_db)
        village = con.execute("select village_code from grid where generation_high is null"
                              " group by village_code order by count(*) desc").fetchone()[0]
        con.close()
        page.goto(f"{url}/planner?village={village}")
        page.wait_for_selector("a.leaflet-draw-draw-polygon", state="attached", timeout=60000)
        buttons = page.eval_on_selector_all(".leaflet-draw a", "els => els.map(e => e.title)")
        assert buttons and not [b for b in buttons if LATIN.search(b or "")], buttons
        page.click("a.leaflet-draw-draw-polygon")
        expect(page.locator(".leaflet-draw-tooltip")).to_contain_text("点击开始画多边形", timeout=10000)
        actions = page.locator(".leaflet-draw-actions").first.inner_text()
        assert not LATIN.search(actions), actions
        context.close()
        browser.close()
