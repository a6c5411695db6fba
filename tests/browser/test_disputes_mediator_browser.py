"""Browser: the 台账 page shows a role only what it can do (a 纠纷调处员 cannot export: no export button), and the
location picker has the basemap, plain coordinate boxes, and says which grid the picked point falls in."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import select

from console.store import Grid
from console.store.codes import CITY_CODE
from tests.browser.test_first_frame_browser import OBSERVE
from tests.security_login import console_on_copy, login_page

pytestmark = pytest.mark.browser
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture()
def console(small_world_db, tmp_path):
    accounts = [("mediator1", ["dispute_handler"], [CITY_CODE]), ("county1", ["county"], [CITY_CODE])]
    with console_on_copy(small_world_db, tmp_path, accounts) as served:
        yield served


def test_mediator_sees_no_export_and_picker_names_the_grid(console):
    from playwright.sync_api import expect, sync_playwright

    url, sessions = console
    with sessions() as s:
        grid = s.scalars(select(Grid).where(Grid.generation_high.is_(None)).order_by(Grid.area_km2.desc())).first()
        inside = shapely.from_wkb(grid.geom_wkb).representative_point()
        name = grid.name
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for user, can_export in (("county1", True), ("mediator1", False)):
            context = browser.new_context(viewport={"width": 1920, "height": 1080})
            page = context.new_page()
            login_page(page, url, user)
            page.goto(url + "/disputes")
            expect(page.locator("#dl-count")).to_contain_text("共", timeout=20000)
            assert page.locator("#dl-export").is_visible() == can_export, user
            context.close()

        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        context.add_init_script(OBSERVE)  # the page's Leaflet maps, through Leaflet's init hook
        page = context.new_page()
        login_page(page, url, "mediator1")
        page.goto(url + "/disputes")
        page.wait_for_selector("#dl-r-map .leaflet-map-pane", state="attached", timeout=20000)
        # the offline basemap under the picker, not a bare county outline
        expect(page.locator("#dl-r-map .leaflet-pa-base-rivers-pane")).to_be_attached(timeout=20000)
        for box in ("#dl-r-lon", "#dl-r-lat"):
            assert page.get_attribute(box, "type") == "text"
            assert page.locator(box).bounding_box()["width"] >= 140  # its whole hint shows (no "如 1")
        # pick the grid's inside point (the map zoomed in on it first): the coordinates fill in, the grid is named
        xy = page.evaluate("""([lat, lon]) => {
            const c = document.querySelector('#dl-r-map');
            const m = window.__paMaps.find(x => x.getContainer() === c);
            m.setView([lat, lon], 16, {animate: false});
            const pt = m.latLngToContainerPoint([lat, lon]);
            return [pt.x, pt.y]; }""", [inside.y, inside.x])
        box = page.locator("#dl-r-map").bounding_box()
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        expect(page.locator("#dl-r-found")).to_contain_text("所属网格：", timeout=10000)
        assert page.locator("#dl-r-found").inner_text().endswith(name)
        assert page.input_value("#dl-r-lon") != ""
        context.close()
        browser.close()
