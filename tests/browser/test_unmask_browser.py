"""「显示完整号码」 in a real Chromium: the 总览 grid list is masked for everyone; a town officer selects a row and
gets that one full number (audited); the county role without `unmask` gets a refusal from the server."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.browser.conftest import CONSOLE_USER
from tests.security_login import add_account, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

FULL_ID = re.compile(r"\b\d{17}[\dX]\b")


def _busy_grid(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("select grid_code, town_code from person group by grid_code order by count(*) desc"
                           " limit 1").fetchone()
    finally:
        con.close()


def _unmask_rows(db, actor):
    con = sqlite3.connect(db)
    try:
        return con.execute("select object from audit_log where actor=? and action='unmask'", (actor,)).fetchall()
    finally:
        con.close()


def _reveal(chromium, console_url, user, grid) -> str:
    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        login_page(page, console_url, user)
        page.goto(f"{console_url}/?area={grid}")
        tab = page.get_by_role("tab", name="人员")
        (tab if tab.count() else page.locator(".pa-tabs >> text=人员")).click()
        page.wait_for_selector("#unmask-grid .ag-row", timeout=30000)
        assert not FULL_ID.search(page.locator("#unmask-grid").inner_text())  # masked for every role
        for _ in range(20):  # the list may be redrawn once more (area and tab settle): click until a row is selected
            page.locator("#unmask-grid .ag-row .ag-cell").first.click()
            page.wait_for_timeout(500)
            if page.locator("#unmask-grid .ag-row-selected").count():
                break
        assert page.locator("#unmask-grid .ag-row-selected").count() == 1
        page.get_by_role("button", name="显示完整号码").click()
        page.wait_for_function("() => (document.getElementById('unmask-grid-value') || {}).textContent",
                               timeout=30000)
        return page.locator("#unmask-grid-value").inner_text()
    finally:
        context.close()


def test_full_number_on_request_only_and_only_for_permitted_roles(chromium, console_url, world_db):
    grid, town = _busy_grid(world_db)
    add_account(world_db, "browser_town", ["town"], [town])
    shown = _reveal(chromium, console_url, "browser_town", grid)
    assert FULL_ID.search(shown), shown
    assert any(obj.startswith("person:") for (obj,) in _unmask_rows(world_db, "browser_town"))
    refused = _reveal(chromium, console_url, CONSOLE_USER, grid)  # 县区 role: no unmask permission
    assert "无权" in refused and not FULL_ID.search(refused)
    assert _unmask_rows(world_db, CONSOLE_USER) == []
