"""Browser: a county clerk imports a 实有人口 ledger whose identity-number column is headed the clerk's own way —
the page names the missing column, the clerk maps it, checks, sees each row's verdict and saves; the mapping is kept
as the source's template, and the next file of the same source imports without the mapping step (the page says
which template it applied; the clerk can change or delete it). Screenshots of the mapping step and the template
notice go to docs/screenshots/ with PINGAN_SHOTS=1."""

from __future__ import annotations

import io
import os

import openpyxl
import pytest
import shapely
from sqlalchemy import func, select

from console.store import Grid, Household
from tests.security_login import console_on_copy, login_page
from tests.test_disputes_fixtures import tiny_template  # noqa: F401
from tests.test_ledger_import import _id

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = DOCS_SHOTS if os.environ.get("PINGAN_SHOTS") else Path("/tmp/pingan-shots")
SHOTS.mkdir(exist_ok=True)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture()
def console(tiny_template, tmp_path):
    with console_on_copy(tiny_template, tmp_path, [("county_clerk", ["county"], ["610924"])]) as served:
        yield served


def _ledger(lon: float, lat: float, people=None, household="HH-BROWSER-1", street=1) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "实有人口"
    ws.append(["紫阳县实有人口登记表"])
    ws.append(["序号", "姓名", "证件号", "户号", "与户主关系", "现住址", "经度", "纬度", "备注"])
    addr = f"紫阳县城关镇浏览器测试街{street}号"
    people = people or [("周大成", _id(31), "户主"), ("吴桂花", _id(32, "19900101", False), "妻")]
    for i, (name, number, rel) in enumerate(people, 1):
        ws.append([i, name, number, household, rel, addr, lon, lat, ""])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_import_wizard_maps_a_column_previews_and_saves(console, tmp_path):
    from playwright.sync_api import sync_playwright

    url, sessions = console
    with sessions() as s:
        wkb = s.scalar(select(Grid.geom_wkb).where(Grid.generation_high.is_(None), Grid.code.like("610924%"))
                       .order_by(Grid.code).limit(1))
    pt = shapely.from_wkb(wkb).representative_point()
    path = tmp_path / "实有人口.xlsx"
    path.write_bytes(_ledger(round(pt.x, 6), round(pt.y, 6)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        login_page(page, url, "county_clerk")
        page.goto(url + "/import")
        page.wait_for_selector("#li-upload input[type=file]", state="attached")
        page.wait_for_load_state("networkidle")  # the upload must not land before Dash has wired its callbacks
        page.set_input_files("#li-upload input[type=file]", str(path))
        page.wait_for_selector("text=缺少必填列：公民身份号码", timeout=60000)
        assert page.is_hidden("#li-save")
        # map 证件号 → 公民身份号码 in the dropdown for that header
        page.screenshot(path=str(SHOTS / "import-mapping.png"), full_page=True)
        page.locator("""[id*='"header":"证件号"']""").first.click()
        page.keyboard.type("公民身份号码")
        option = page.get_by_role("option", name="✱公民身份号码").first
        option.wait_for(timeout=10000)
        option.click()
        page.click("#li-apply")
        page.wait_for_selector("text=新增 2 行", timeout=60000)
        assert "缺少必填列" not in page.inner_text("#li-mapping")
        page.screenshot(path=str(SHOTS / "import-preview.png"), full_page=True)
        page.click("#li-save")
        page.wait_for_selector("text=已保存：新增 2 行", timeout=60000)
        assert "已存为模板「实有人口（实有人口台账）」" in page.inner_text("#li-result")
        # the next file of the same source: no mapping step, the template named
        second = tmp_path / "实有人口-第二批.xlsx"
        second.write_bytes(_ledger(round(pt.x, 6), round(pt.y, 6), [("郑国强", _id(33), "户主"),
                                                                    ("冯秀英", _id(34, "19920202", False), "妻")],
                                   household="HH-BROWSER-2", street=2))
        page.set_input_files("#li-upload input[type=file]", str(second))
        page.wait_for_selector("text=郑国强", timeout=60000)  # the second file's preview
        page.wait_for_selector("text=已自动应用对应关系模板「实有人口（实有人口台账）」", timeout=60000)
        assert "新增 2 行" in page.inner_text("#li-summary") and not page.inner_text("#li-result")
        assert "缺少必填列" not in page.inner_text("body") and page.is_visible("#li-save")
        assert page.inner_text("#li-mapping") == "" and page.is_hidden("#li-apply")  # no question asked
        assert "“证件号”→公民身份号码" in page.inner_text("#li-template")
        page.screenshot(path=str(SHOTS / "import-template.png"), full_page=True)
        page.click("#li-save")
        page.wait_for_selector("text=已保存：新增 2 行", timeout=60000)
        # the clerk may look at the mapping again (preselected), or delete the template
        page.click("#li-tpl-edit")
        page.wait_for_selector("""[id*='"header":"证件号"']""", timeout=60000)
        assert "文件中的列“证件号”对应\n✱公民身份号码" in page.inner_text("#li-mapping")  # preselected
        page.click("#li-tpl-del")
        page.wait_for_selector("text=缺少必填列：公民身份号码", timeout=60000)
        assert page.is_hidden("#li-template-box")
        # 以房管人: the imported household is found by its 户号, residents listed masked
        page.goto(url + "/housing")
        page.fill("#hs-text", "HH-BROWSER-1")
        page.click("#hs-go")
        page.wait_for_selector("text=周大成", timeout=60000)
        tree = page.inner_text("#hs-tree")
        assert "户号 HH-BROWSER-1" in tree and "吴桂花" in tree and _id(31) not in tree
        page.screenshot(path=str(SHOTS / "housing.png"), full_page=True)
        browser.close()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Household).where(Household.code == "HH-BROWSER-1")) == 1


def test_quality_page_drills_down_and_lists_problems_masked(console, tmp_path):
    from playwright.sync_api import sync_playwright

    from console.store import Household, Person

    url, sessions = console
    with sessions() as s:  # plant an empty household in 紫阳县
        h = s.scalar(select(Household).where(Household.county_code == "610924").order_by(Household.id).limit(1))
        s.add(Household(code="EMPTY-B", building_id=h.building_id, address="紫阳县城关镇空户浏览器测试街9号", kind="registered",
                        size=0, is_rental=False, **{c: getattr(h, c) for c in (
                            "lon", "lat", "county_code", "town_code", "village_code", "grid_code",
                            "assign_generation")}))
        s.commit()
        town = h.town_code
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        login_page(page, url, "county_clerk")
        page.goto(url + "/quality")
        page.wait_for_selector("text=住户下无人员", timeout=60000)
        assert "紫阳县" in page.inner_text("body")
        page.goto(url + f"/quality?area={town}&check=household_empty")
        page.wait_for_selector("text=EMPTY-B", timeout=60000)
        text = page.inner_text("body")
        assert "紫阳县城关镇空户****" in text and "测试街9号" not in text  # the address is masked in the list
        assert "610924100" not in text.split("处理办法")[-1]  # grids by name in the list, not by code
        page.screenshot(path=str(SHOTS / "quality.png"), full_page=True)
        page.goto(url + "/quality?area=610925")  # another county: refused, back to the clerk's own
        page.wait_for_selector("text=数据质量", timeout=60000)
        assert "岚皋县合计" not in page.inner_text("body")
        browser.close()
