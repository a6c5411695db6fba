"""Browser: the ledger and the statistics take an area by name ("紫阳县", "紫阳县 城关镇"), an ambiguous name is
answered with its full names, and the 零报告 list tells same-named villages apart (county and town)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.security_login import console_on_copy, login_page

pytestmark = pytest.mark.browser
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture()
def console(small_world_db, tmp_path):
    with console_on_copy(small_world_db, tmp_path, [("city_cases", ["county"], ["610900"])]) as served:
        yield served


def test_area_filters_by_name_and_zero_report_full_names(console, small_world_db):
    from playwright.sync_api import expect, sync_playwright

    url, _sessions = console
    con = sqlite3.connect(small_world_db)
    ziyang = con.execute("select code from area where name='紫阳县'").fetchone()[0]
    in_ziyang = con.execute("select count(*) from dispute where county_code=?", (ziyang,)).fetchone()[0]
    dup = con.execute("select name from area where level='village' group by name having count(*) > 1"
                      " order by count(*) desc limit 1").fetchone()
    con.close()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        login_page(page, url, "city_cases")
        page.goto(url + "/disputes")
        page.fill("#dl-f-area", "紫阳县")
        page.click("#dl-search")
        expect(page.locator("#dl-count")).to_have_text(f"共{in_ziyang}件", timeout=15000)
        if dup:  # an ambiguous name: a clear sentence naming each place, no rows
            page.fill("#dl-f-area", dup[0])
            page.click("#dl-search")
            expect(page.locator("#dl-count")).to_contain_text("处：", timeout=15000)
            assert page.locator("#dl-count").inner_text().count(dup[0]) >= 2

        page.goto(url + "/disputes/stats")
        page.fill("#ds-area", "")
        page.click("#ds-run")
        zero = page.locator("#ds-zero li")
        expect(zero.first).to_be_visible(timeout=20000)
        names = zero.all_inner_texts()
        shown = [n for n in names if not n.startswith("……")]
        assert len(set(shown)) == len(shown), "two 零报告 entries read the same"
        assert all(" " in n for n in shown), "零报告 entries lack their county and town"
        page.fill("#ds-area", "紫阳县")
        page.click("#ds-run")
        expect(page.locator("#ds-zero li").first).to_contain_text("紫阳县", timeout=20000)
        assert all(n.startswith("紫阳县") for n in page.locator("#ds-zero li").all_inner_texts()
                   if not n.startswith("……"))
        assert "有误" not in page.locator("body").inner_text()
        browser.close()
