"""No English on the pages a duty officer, a leader and the wall open: every visible text node and empty input's
hint, read in Chromium, has no Latin word outside the allow list of formats and units (tests/browser/visible_text.py).
The same check is benchmarks/console.py's `latin_words_visible`."""

from __future__ import annotations

import pytest

from console.store.codes import CITY_CODE
from tests.browser.visible_text import VISIBLE_TEXT, latin_words
from tests.security_login import console_on_copy, login_page

pytestmark = pytest.mark.browser
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROLES = {"lat_duty": "duty_officer", "lat_leader": "city_leader", "lat_wall": "wall_display"}


def test_allow_list_and_codes():
    assert latin_words(["案件 JF610902202511070001", "GB18030 编码", "见 docs/video.md", "No Rows To Show"]) == \
        ["docs", "video", "md", "No", "Rows", "To", "Show"]
    assert latin_words(["导出 Excel（xlsx）", "比例尺 5 km"]) == []


@pytest.mark.parametrize("user", list(ROLES))
def test_pages_show_no_latin_words(world_db, tmp_path, user):
    from playwright.sync_api import sync_playwright

    from console.security.guard import Viewer
    from console.services.navigation import visible_pages

    role = ROLES[user]
    pages = [href for href, _ in visible_pages(Viewer.build(user, [role], [CITY_CODE]))]
    assert pages
    with console_on_copy(world_db, tmp_path, [(user, [role], [CITY_CODE])]) as (url, _sessions):
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            login_page(page, url, user)
            found = {}
            for href in pages:
                page.goto(url + href)
                try:
                    page.wait_for_load_state("networkidle", timeout=15000)
                except Exception:  # a page that polls never idles
                    pass
                page.wait_for_timeout(1200)
                words = latin_words(page.evaluate(VISIBLE_TEXT))
                if words:
                    found[href] = sorted(set(words))
            browser.close()
    assert not found, found
