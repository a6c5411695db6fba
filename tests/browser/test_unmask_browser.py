"""「显示完整号码/地址」 in a real Chromium: the 总览 grid list is masked for everyone; a town officer selects a row
and gets that one full number (audited); the county role without `unmask` gets a refusal from the server. A map
popup's 「显示」 asks POST /api/unmask with the page's CSRF token and shows the full address in place."""

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
        page.get_by_role("button", name="显示身份证号").click()
        value = page.locator(".pa-unmask .pa-unmask-value").first
        page.wait_for_function("el => el.textContent", arg=value.element_handle(), timeout=30000)
        return value.inner_text()
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


def _household(db, town):
    from console.store import crypto

    con = sqlite3.connect(db)
    try:
        hid, sealed = con.execute("select id, address from household where town_code=? order by id limit 1",
                                  (town,)).fetchone()
    finally:
        con.close()
    return hid, crypto.require_keyring().decrypt(sealed, "household.address")  # sealed at rest (docs/security.md §4)


def test_popup_reveal_shows_the_full_address_in_place(chromium, console_url, world_db):
    grid, town = _busy_grid(world_db)
    add_account(world_db, "browser_town", ["town"], [town])
    hid, address = _household(world_db, town)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        login_page(page, console_url, "browser_town")
        page.goto(f"{console_url}/?area={grid}")
        page.wait_for_function("() => window.pingan && window.pingan.map && window.pingan.map.popupTable")
        # The popup table exactly as a household marker's click builds it from /api/layers/population/<id>.
        page.evaluate("""([hid]) => {
            const box = window.pingan.map.popupTable({title: "实有人口", rows: [
                ["地址", "masked****", {kind: "household", id: hid, field: "address"}]]});
            box.id = "probe"; document.body.appendChild(box);
        }""", [hid])
        page.locator("#probe .pa-popup-reveal").click()
        page.wait_for_function("() => !document.querySelector('#probe .pa-popup-reveal')", timeout=15000)
        assert page.locator("#probe .pa-popup-value").inner_text() == address
        assert ("household:%d" % hid,) in _unmask_rows(world_db, "browser_town")
    finally:
        context.close()
