"""Browser: the planner's 导入导出 tab with files made by other tools. A 高德-style GCJ-02 export with a neutral
name is stopped with the offer to convert (GCJ-02 preselected), then imported converted; a GeoPackage with
two layers lists both with their feature counts and the chosen one is imported; a file with a feature
without geometry is refused naming it, and imported with 部分导入 ticked."""

from __future__ import annotations

import json
import time

import geopandas as gpd
import pyogrio
import pytest
import shapely

from console.planner.village import load_village
from console.store.codes import CITY_CODE
from geodata.planner import gcj02
from tests.security_login import console_on_copy, login_page
from tests.browser.test_planner_browser import ARGS, CHROMIUM, _busiest_village, _wait_grids, _wait_message

pytestmark = pytest.mark.browser


@pytest.fixture()
def console(small_world_db, tmp_path):
    with console_on_copy(small_world_db, tmp_path, [("planner_city", ["grid_planner"], [CITY_CODE])]) as served:
        yield served


def _feature(grid, geometry) -> dict:
    return {"type": "Feature", "properties": {"code": grid.code, "name": grid.name},
            "geometry": None if geometry is None else shapely.geometry.mapping(geometry)}


def _upload(page, name: str, data: bytes, expect: str) -> None:
    page.set_input_files("#pl-upload input[type=file]",
                         files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    page.wait_for_function("t => (document.querySelector('#pl-upload-name') || {}).innerText?.includes(t)",
                           arg=expect, timeout=60_000)


def _crs_shown(page) -> str:
    return page.locator("#pl-crs").inner_text()


def test_import_tab_with_files_from_other_tools(console, tmp_path):
    from playwright.sync_api import sync_playwright

    url, sessions = console
    village, n_grids = _busiest_village(sessions)
    with sessions() as s:
        grids = load_village(s, village).grids
    gaode = json.dumps({"type": "FeatureCollection", "features": [
        _feature(g, gcj02.transform_geometry(g.geometry, gcj02.wgs84_to_gcj02)) for g in grids]},
        ensure_ascii=False).encode()
    two = tmp_path / "two.gpkg"
    frame = gpd.GeoDataFrame({"code": [g.code for g in grids], "name": [g.name for g in grids]},
                             geometry=[g.geometry for g in grids], crs="EPSG:4326")
    pyogrio.write_dataframe(frame.iloc[:1], two, layer="网格_旧")
    pyogrio.write_dataframe(frame, two, layer="网格_新", append=True)
    holed = json.dumps({"type": "FeatureCollection", "features": [
        *(_feature(g, g.geometry) for g in grids), _feature(grids[0], None)]}, ensure_ascii=False).encode()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login_page(page, url, "planner_city")
        page.goto(f"{url}/planner?village={village}")
        _wait_grids(page, n_grids)
        page.click("text=导入导出")

        # 1. GCJ-02 saying nothing: stopped, GCJ-02 preselected, the second click imports it converted
        _upload(page, "导出数据.geojson", gaode, "导出数据.geojson")
        assert "GCJ" not in _crs_shown(page)
        page.click("#pl-import")
        msg = _wait_message(page, "GCJ-02")
        assert "偏离本村" in msg and "米" in msg
        page.wait_for_function("(document.querySelector('#pl-crs') || {}).innerText?.includes('GCJ-02')",
                               timeout=30_000)
        page.click("#pl-import")
        _wait_message(page, "导入边界")
        page.click("text=网格均衡")                       # converted: lands on the village, no gap, nothing outside
        _wait_grids(page, n_grids)
        assert "无错误" in page.locator("#pl-problem-list").inner_text()
        page.click("text=导入导出")

        # 2. two layers: both listed with their counts; the chosen one is imported
        _upload(page, "two.gpkg", two.read_bytes(), "共 2 个图层")
        assert "GCJ" not in _crs_shown(page)              # the previous file's choice is reset
        page.click("#pl-layer")
        wanted = f"网格_新（面，{n_grids} 个要素）"
        for text in ("网格_旧（面，1 个要素）", wanted):
            page.get_by_role("option", name=text, exact=True).first.wait_for(timeout=10_000)
        page.get_by_role("option", name=wanted, exact=True).first.click()
        page.wait_for_function("t => (document.getElementById('pl-layer') || {}).innerText.includes(t)", arg=wanted)
        page.click("#pl-import")
        page.click("text=网格均衡")
        page.wait_for_function("(document.querySelector('#pl-summary') || {}).innerText?.includes('步骤 3/3')",
                               timeout=60_000)
        _wait_grids(page, n_grids)                         # all of 网格_新, not the one grid of 网格_旧
        page.click("text=导入导出")

        # 3. a feature without geometry: named and refused; 部分导入 imports the rest
        _upload(page, "holed.geojson", holed, "holed.geojson")
        page.click("#pl-import")
        msg = _wait_message(page, f"第 {n_grids + 1} 个要素")
        assert "没有几何" in msg and "部分导入" in msg
        page.locator("#pl-partial input").check()
        page.click("#pl-import")
        msg = _wait_message(page, "已跳过 1 个要素")
        time.sleep(0.5)
        browser.close()
    assert not [e for e in errors if "Callback error" in e], errors
