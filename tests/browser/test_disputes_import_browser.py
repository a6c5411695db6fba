"""Browser: upload a 高德-coordinate 台账 (ledger on a 台账 sheet under notes, extra columns), read the preview, choose
GCJ-02, save; the case lands in its grid at the converted point."""

from __future__ import annotations

import shapely
from sqlalchemy import select

from console.store import Dispute, Grid
from geodata.planner.gcj02 import wgs84_to_gcj02
from tests import ledger_files as lf
from tests.security_login import login_page
from tests.browser.test_disputes_browser import ARGS, CHROMIUM, console  # noqa: F401
from tests.test_disputes_fixtures import tiny_template  # noqa: F401


def test_upload_preview_choose_gcj02_save(console, tmp_path):
    from playwright.sync_api import sync_playwright

    url, sessions = console
    with sessions() as s:
        code, wkb = s.execute(select(Grid.code, Grid.geom_wkb).where(Grid.generation_high.is_(None),
                                                                     Grid.code.like("610924%"))
                              .order_by(Grid.code)).first()
    point = shapely.from_wkb(wkb).representative_point()
    glon, glat = wgs84_to_gcj02(point.x, point.y)
    headers = [h if h not in ("经度", "纬度") else f"{h}（高德）" for h in lf.HEADERS]
    row = {(k if k not in ("经度", "纬度") else f"{k}（高德）"): v
           for k, v in lf.row(round(glon, 6), round(glat, 6), 7, 事件名称="浏览器导入纠纷").items()}
    path = tmp_path / "村级台账.xlsx"
    path.write_bytes(lf.openpyxl_ledger([row], headers=headers, styled_row=1_000_000))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1200})
        login_page(page, url, "town_clerk")
        page.goto(url + "/disputes")
        page.wait_for_selector("#dl-upload input[type=file]", state="attached")
        # On a loaded machine the upload can land before Dash has wired its callbacks: wait until the page is
        # quiet, and choose the file again if no check comes back.
        page.wait_for_load_state("networkidle")
        for attempt in range(3):
            page.set_input_files("#dl-upload input[type=file]", str(path))
            try:
                page.wait_for_selector("text=导入检查：", timeout=30000)
                break
            except Exception:  # noqa: BLE001 - playwright's TimeoutError; the last attempt's failure is raised below
                if attempt == 2:
                    raise
        text = page.inner_text("#dl-import-report")
        assert "工作表“台账”第4行为表头" in text and "已忽略：序号、备注、登记人" in text
        assert "高德" in text and "单次最多导入100,000行" in text and "文件不超过6.0 MB" in text
        page.get_by_label("GCJ-02（高德、腾讯地图导出）", exact=False).check()
        page.wait_for_function("document.getElementById('dl-import-report').innerText.includes('可导入1行')",
                               timeout=60000)
        page.click("#dl-import-save")
        page.wait_for_selector("text=已保存1行", timeout=60000)
        browser.close()
    with sessions() as s:
        case = s.execute(select(Dispute).where(Dispute.title == "浏览器导入纠纷")).scalar_one()
    assert case.grid_code == code and abs(case.lon - point.x) < 2e-6 and abs(case.lat - point.y) < 2e-6
