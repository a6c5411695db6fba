"""Browser: a grid planner opens a village, drags a vertex, draws a new grid with EditControl, previews and commits."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console.store import Generation, Grid, Household
from console.store.codes import CITY_CODE
from tests.security_login import console_on_copy, login_page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture()
def console(small_world_db, tmp_path):
    with console_on_copy(small_world_db, tmp_path, [("planner_city", ["grid_planner"], [CITY_CODE])]) as served:
        yield served


def _busiest_village(sessions) -> tuple[str, int]:
    with sessions() as s:
        code, n = s.execute(select(Grid.village_code, func.count()).where(Grid.generation_high.is_(None))
                            .group_by(Grid.village_code).order_by(func.count().desc(), Grid.village_code)).first()
    return code, n


def _wait_message(page, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    msg = ""
    while time.monotonic() < deadline:
        msg = page.locator("#pl-message").inner_text()
        if text in msg:
            return msg
        time.sleep(0.2)
    raise AssertionError(f"message {text!r} not shown; last: {msg!r}")


def _wait_grids(page, n: int) -> None:
    """The summary counts the draft's grids (the table virtualises its rows, so it is not counted)."""
    page.wait_for_function(f"(document.querySelector('#pl-summary') || {{}}).innerText?.includes('网格 {n}')",
                           timeout=60_000)


def _centre(box) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _label_centre(page, i: int, timeout: float = 30.0) -> tuple[float, float]:
    """Centre of grid label i once the map has (re)drawn it (labels are rebuilt after every draft change)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        box = page.locator(".pl-grid-label").nth(i).bounding_box()
        if box:
            return _centre(box)
        time.sleep(0.2)
    raise AssertionError(f"grid label {i} not drawn")


def test_edit_draw_preview_commit(console):
    from playwright.sync_api import expect, sync_playwright

    url, sessions = console
    village, n_grids = _busiest_village(sessions)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login_page(page, url, "planner_city")
        page.goto(f"{url}/planner?village={village}")
        page.wait_for_selector(".pl-grid-label", timeout=60_000)
        _wait_grids(page, n_grids)
        assert page.locator(".pl-grid-label").count() == n_grids

        # 1. select a grid on the map, drag one of its vertices, save → the draft gets a 调整边界 step
        x, y = _label_centre(page, 0)
        page.mouse.click(x, y)
        page.wait_for_selector("a.leaflet-draw-edit-edit:not(.leaflet-disabled)", timeout=60_000)
        page.click("a.leaflet-draw-edit-edit")
        icon = page.locator(".leaflet-editing-icon").first
        ix, iy = _centre(icon.bounding_box())
        page.mouse.move(ix, iy)
        page.mouse.down()
        page.mouse.move(ix + 25, iy + 15, steps=5)
        page.mouse.up()
        page.click("a[title='保存修改']")  # the drawing tool speaks Chinese (assets/pingan_draw_zh.js)
        _wait_message(page, "调整边界")
        page.wait_for_function("(document.querySelector('#pl-summary') || {}).innerText?.includes('调整边界')",
                               timeout=60_000)

        # 2. draw a new grid with the polygon tool around another grid's label → one more grid
        x, y = _label_centre(page, n_grids - 1)
        page.click("a.leaflet-draw-draw-polygon")
        for dx, dy in ((-30, -20), (30, -20), (30, 20), (-30, 20)):
            page.mouse.click(x + dx, y + dy)
            time.sleep(0.15)
        page.mouse.click(x - 30, y - 20)                      # back on the first vertex closes the ring
        _wait_message(page, "新建网格")
        _wait_grids(page, n_grids + 1)
        assert "无错误" in page.locator("#pl-problem-list").inner_text()

        # 3. preview: who moves, which workers gain and lose
        page.click("text=预览提交")
        page.click("#pl-preview")
        page.wait_for_function("document.querySelectorAll('#pl-pairs .ag-row').length > 0", timeout=60_000)
        assert "变更户" in page.locator("#pl-preview-summary").inner_text()

        # 4. commit without a reason is refused; with one it becomes a new generation
        page.click("#pl-commit")
        _wait_message(page, "原因")
        page.fill("#pl-reason", "新建小区，增设网格")
        page.click("#pl-commit")
        msg = _wait_message(page, "已提交为第")
        page.click("text=版本历史")
        page.wait_for_function("document.querySelectorAll('#pl-history .ag-row').length >= 2", timeout=60_000)
        with sessions() as s:  # history in Beijing time (stored UTC)
            newest = s.scalars(select(Generation).order_by(Generation.id.desc())).first()
            when = (newest.created_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
        expect(page.locator(f"#pl-history .ag-row[row-id='{newest.id}'] [col-id='when']")).to_have_text(when)

        # 4b. 回退 first shows what it would change; nothing is committed until 确认回退
        older = page.locator("#pl-history .ag-center-cols-container .ag-row").filter(has_not_text="现行").first
        page.locator(f"#pl-history .ag-row[row-id='{older.get_attribute('row-id')}'] .ag-checkbox-input").first.click()
        page.click("#pl-rollback")
        expect(page.locator("#pl-rollback-preview")).to_contain_text("确认后才提交", timeout=30_000)
        expect(page.locator("#pl-rollback-confirm")).to_be_visible()
        with sessions() as s:
            assert s.scalar(select(func.max(Generation.id))) == newest.id, "回退 committed before confirmation"
        page.click("#pl-view-gen")  # the chosen version over the map, and a message saying so
        _wait_message(page, "虚线是第")

        # 5. the command-hall map shows the village with its new grids at once (caches dropped on commit)
        page.goto(f"{url}/?area={village}")
        page.wait_for_function("([p, n]) => document.querySelectorAll(`.area-label-text[data-parent='${p}']`)"
                               ".length === n", arg=[village, n_grids + 1], timeout=60_000)
        browser.close()
    assert not [e for e in errors if "Callback error" in e], errors

    with sessions() as s:
        gen = s.scalar(select(func.max(Generation.id)))
        assert f"第 {gen} 版" in msg
        row = s.get(Generation, gen)
        assert (row.scope_code, row.created_by, row.reason) == (village, "planner_city", "新建小区，增设网格")
        current = s.scalars(select(Grid).where(Grid.village_code == village, Grid.generation_high.is_(None))).all()
        assert len(current) == n_grids + 1
        assert sum(g.households for g in current) == s.scalar(
            select(func.count()).select_from(Household).where(Household.village_code == village))
        for g in current:
            assert g.households == s.scalar(select(func.count()).select_from(Household).where(
                Household.grid_code == g.code))
