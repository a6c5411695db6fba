"""审计日志 in a real headless Chromium: the audit administrator logs in (password, then the one-time code), searches,
and the 操作 column reads in words (console/security/audit_actions.py) — an action no label knows shows its key; the
action filter lists labels and narrows the search. Screenshot: docs/screenshots/admin-audit-labels.png."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

import sectest as testing
from console.security import audit
from console.store import make_engine, make_session_factory
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_ENV
from tests.browser.tinyworld import build
from tests.security_login import PASSWORD, add_account, console_on_copy

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SHOT = ROOT / "docs" / "screenshots" / "admin-audit-labels.png"
SECRET = "JBSWY3DPEHPK3PXPDDDDDDDD"
WRITTEN = ("ledger_import", "grid.commit", "dispute.accept", "use:unmask", "old.unknown_action")


def _write_rows(db: str) -> None:
    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s, s.begin():  # at the real time: inside the page's default 30 days
        for action in WRITTEN:
            audit.append(s, "zhangwei", action, object="测试对象", detail={"n": 1})
    engine.dispose()


def test_the_audit_page_shows_actions_in_words(tmp_path):
    from playwright.sync_api import sync_playwright

    tiny = build(tmp_path / "tiny.sqlite")
    with console_on_copy(tiny, tmp_path, []) as (base, _sessions):
        db = str(tmp_path / "w.sqlite")
        add_account(db, "aud_browser", ["audit_admin"], [], totp_secret=SECRET)
        _write_rows(db)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
            page = browser.new_context(viewport={"width": 1600, "height": 900}, locale="zh-CN").new_page()
            page.goto(base + "/login")
            page.fill("#u", "aud_browser")
            page.fill("#p", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert "/login/totp" in page.url
            page.fill("#c", pyotp.TOTP(SECRET).at(testing.Clock()()))  # the test console's fixed clock
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.goto(base + "/admin/audit")
            page.get_by_role("button", name="查询").click()
            cells = page.locator('.ag-center-cols-container [col-id="action_label"]')
            cells.first.wait_for(timeout=20000)
            page.wait_for_function("document.querySelectorAll('.ag-center-cols-container .ag-row').length >= 5")
            shown = set(cells.all_inner_texts())
            assert {"导入台账", "提交网格调整", "纠纷受理", "使用权限：查看完整身份信息", "old.unknown_action"} <= shown
            assert not shown & set(WRITTEN[:-1]), shown  # no key a label knows
            roles = page.locator('.ag-center-cols-container [col-id="roles_label"]').all_inner_texts()
            results = page.locator('.ag-center-cols-container [col-id="result_label"]').all_inner_texts()
            assert "审计管理员" in roles and set(results) <= {"允许", "拒绝"} and "允许" in results
            page.screenshot(path=str(SHOT))
            # the filter offers labels; choosing one narrows the search to that action
            page.locator("#aud-action").click()
            page.keyboard.type("导入台")
            page.get_by_role("option", name="导入台账", exact=True).click()
            page.get_by_role("button", name="查询").click()
            page.wait_for_function("document.querySelectorAll('.ag-center-cols-container .ag-row').length === 1")
            assert cells.all_inner_texts() == ["导入台账"]
            browser.close()
