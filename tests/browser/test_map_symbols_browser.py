"""Map symbols in a real Chromium (docs/console.md, "Map symbols"): labels inside their areas and never on top of
each other, count bubbles the legend explains, a choropleth with a scale (by count or density), stacked markers
that spread out, the grid and building popups, and the ranked 热点网格 with its map.

The page's Leaflet maps are observed through Leaflet's public init hook (an init script), nothing of the app."""

from __future__ import annotations

import re
import sqlite3

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

OBSERVE = """(() => {
    window.__paMaps = [];
    let leaflet;
    Object.defineProperty(window, 'L', {configurable: true, enumerable: true, get() { return leaflet; },
        set(v) {
            leaflet = v;
            if (v && v.Map && !v.Map.__paObserved) {
                v.Map.__paObserved = true;
                v.Map.addInitHook(function () { window.__paMaps.push(this); });
            }
        }});
})();"""

VISIBLE_LABEL_BOXES = """() => Array.from(document.querySelectorAll('.leaflet-tooltip.area-label'))
    .filter(n => getComputedStyle(n).visibility !== 'hidden')
    .map(n => { const r = n.getBoundingClientRect(); return [n.textContent, r.left, r.top, r.right, r.bottom]; })"""

# fill colour and properties of each area polygon the map draws (children of `parent`)
AREA_FILLS = """p => { const m = window.__paMaps[0]; const out = [];
    m.eachLayer(l => { const f = l.feature; if (f && f.properties && f.properties.parent === p && l.setStyle)
        out.push([f.properties.code, f.properties.residents, f.properties.density, l.options.fillColor]); });
    return out; }"""

TO_SCREEN = """([lat, lon]) => { const m = window.__paMaps[0]; const p = m.latLngToContainerPoint([lat, lon]);
    const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"""


@pytest.fixture()
def page(logged_in_context):
    page = logged_in_context.new_page()
    page.add_init_script(OBSERVE)
    yield page
    page.close()


def one(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchone()
    finally:
        con.close()


def open_area(page, url, code):
    page.goto(url + f"/?area={code}")
    attr = "data-code" if len(code) == 15 else "data-parent"  # a grid is shown among its village's grids
    page.wait_for_selector(f".area-label-text[{attr}='{code}']", timeout=30000)
    settle(page)


def settle(page):
    """Until the map stops moving (the first fits) and the labels have been sorted out."""
    last = None
    for _ in range(30):
        now = page.evaluate("() => { const m = window.__paMaps[0]; return m ? [m.getZoom(), m.getCenter().lat,"
                            " m.getCenter().lng] : null; }")
        if now and now == last:
            break
        last = now
        page.wait_for_timeout(200)
    page.wait_for_timeout(300)


def overlaps(boxes):
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[1] < b[3] and a[3] > b[1] and a[2] < b[4] and a[4] > b[2]:
                out.append((a[0], b[0]))
    return out


LABEL_CORNERS = """code => { const m = window.__paMaps[0]; const r = m.getContainer().getBoundingClientRect();
    const b = document.querySelector(`.area-label-text[data-code='${code}']`).getBoundingClientRect();
    return [[b.left, b.top], [b.right, b.top], [b.left, b.bottom], [b.right, b.bottom],
            [(b.left + b.right) / 2, b.bottom + 8]]
        .map(([x, y]) => { const ll = m.containerPointToLatLng([x - r.left, y - r.top]); return [ll.lng, ll.lat]; }); }"""


def area_shapes(db, parent):
    from shapely import wkb

    con = sqlite3.connect(db)
    try:
        return {c: wkb.loads(b) for c, b in con.execute("select code, geom_wkb from area where parent_code=?", (parent,))}
    finally:
        con.close()


def test_county_labels_lie_wholly_inside_their_county(page, console_url, world_db):
    from shapely.geometry import Point

    open_area(page, console_url, "610900")
    counties = area_shapes(world_db, "610900")
    for code, geom in counties.items():
        for lon, lat in page.evaluate(LABEL_CORNERS, code):  # the label's corners and just below it
            assert geom.contains(Point(lon, lat)), \
                f"{code}'s label reaches into {[c for c, g in counties.items() if g.contains(Point(lon, lat))]}"


def test_a_click_on_ziyangs_label_opens_ziyang(page, console_url):
    open_area(page, console_url, "610900")
    box = page.locator(".area-label-text[data-code='610924']").bounding_box()
    assert box, "紫阳县 has no label"
    # just under the label's text (clicks fall through the label itself)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] + 6)
    page.wait_for_function("() => new URLSearchParams(location.search).get('area') !== '610900'", timeout=30000)
    assert "area=610924" in page.url
    page.wait_for_function("() => (document.querySelector('.pa-crumb-current') || {}).textContent === '紫阳县'",
                           timeout=30000)


def test_visible_labels_never_overlap(page, console_url, world_db):
    busiest_town = one(world_db, "select parent_code from area where level='village' group by parent_code"
                                 " order by count(*) desc limit 1")[0]
    for code in ("610900", "610924", busiest_town):
        open_area(page, console_url, code)
        boxes = page.evaluate(VISIBLE_LABEL_BOXES)
        assert boxes, code
        assert overlaps(boxes) == [], f"{code}: labels overlap"
        total = page.locator(f".area-label-text[data-parent='{code}']").count()
        assert total == one(world_db, "select count(*) from area where parent_code=?", code)[0]  # all there
    # zooming in (the same labels, more room) shows more of them, still without overlaps
    shown = len(page.evaluate(VISIBLE_LABEL_BOXES))
    page.evaluate("() => { window.__paMaps[0].setZoom(window.__paMaps[0].getZoom() + 1.5, {animate: false}); }")
    page.wait_for_timeout(600)
    boxes = page.evaluate(VISIBLE_LABEL_BOXES)
    assert overlaps(boxes) == [] and len(boxes) >= shown


def test_count_bubbles_have_legend_entries_that_no_other_symbol_shares(page, console_url):
    open_area(page, console_url, "610900")
    page.wait_for_selector(".pa-bubble", timeout=30000)
    page.wait_for_timeout(500)
    bubble_colors = set(page.evaluate("() => Array.from(document.querySelectorAll('.pa-bubble'))"
                                      ".map(b => getComputedStyle(b).backgroundColor)"))
    legend = page.evaluate("() => Array.from(document.querySelectorAll('#ov-legend .pa-swatch')).map(s =>"
                           " [s.classList.contains('pa-swatch-bubble'), getComputedStyle(s).backgroundColor,"
                           " s.parentElement.textContent])")
    bubble_legend = {c for is_bubble, c, _ in legend if is_bubble}
    other = {c for is_bubble, c, _ in legend if not is_bubble}
    assert len(bubble_colors) >= 2  # 特殊人群 and 矛盾纠纷 are on by default
    assert bubble_colors <= bubble_legend, "a bubble colour the legend does not explain"
    assert not bubble_colors & other, "a bubble has the colour of another symbol (e.g. 在办 disputes)"
    assert any("特殊人群" in t for b, _, t in legend if b) and any("纠纷" in t for b, _, t in legend if b)


def _rank(color, palette):
    return palette.index(color)


def test_population_choropleth_has_bands_no_white_and_a_density_switch(page, console_url):
    from console.services.choropleth import COLORS

    open_area(page, console_url, "610924")
    assert not page.locator("#ov-choro-box").is_visible()
    page.locator(".pa-layer-switch label", has_text="实有人口").click()
    page.wait_for_selector("#ov-choro-box", state="visible", timeout=30000)
    page.wait_for_selector("#ov-legend .pa-swatch-band", timeout=30000)
    bands = page.locator("#ov-legend .pa-swatch-band").count()
    assert bands >= 3
    assert "单位：人" in page.locator("#ov-legend").inner_text()
    page.wait_for_timeout(500)
    for field, unit in ((1, "人"), (2, "人/平方公里")):
        if field == 2:
            page.locator(".pa-choro-switch label", has_text="按密度").click()
            page.wait_for_function("() => document.getElementById('ov-legend').textContent.includes('人/平方公里')",
                                   timeout=30000)
            page.wait_for_timeout(500)
        fills = page.evaluate(AREA_FILLS, "610924")
        assert len(fills) >= 3
        assert all(f[3] in COLORS for f in fills), fills  # classed colours only; none white
        ordered = sorted(fills, key=lambda f: f[field])
        ranks = [_rank(f[3], COLORS) for f in ordered]
        assert ranks == sorted(ranks), f"colour does not grow with {unit}: {ordered}"
        assert len(set(ranks)) >= 2
    by_density = [f[3] for f in sorted(fills, key=lambda f: f[0])]
    page.locator(".pa-choro-switch label", has_text="按人数").click()
    page.wait_for_function("() => !document.getElementById('ov-legend').textContent.includes('人/平方公里')",
                           timeout=30000)


def test_households_stacked_at_one_building_spread_out_on_click(page, console_url, world_db):
    grid, lon, lat, n = one(world_db, "select grid_code, lon, lat, count(*) n from household group by lon, lat"
                                      " order by n desc limit 1")
    assert n >= 3
    open_area(page, console_url, grid)
    page.locator(".pa-layer-switch label", has_text="实有人口").click()
    page.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.includes("
                           "'/api/layers/population.geojson'))", timeout=30000)
    page.wait_for_timeout(1000)
    page.evaluate(f"() => {{ window.__paMaps[0].setView([{lat}, {lon}], window.__paMaps[0].getMaxZoom(), "
                  "{animate: false}); }")
    page.wait_for_timeout(1000)
    page.evaluate("() => { window.__paMaps[0].closePopup(); }")
    page.mouse.click(*page.evaluate(TO_SCREEN, [lat, lon]))
    page.wait_for_timeout(1500)
    spots = page.evaluate("""() => { const m = window.__paMaps[0]; const out = [];
        m.eachLayer(l => { const p = l.feature && l.feature.properties;
            if (p && p.k && !p.cluster && l.getLatLng) { const q = m.latLngToContainerPoint(l.getLatLng());
                out.push([Math.round(q.x), Math.round(q.y)]); } });
        return out; }""")
    assert len(spots) == n, f"{len(spots)} of the building's {n} households drawn"
    assert len(set(map(tuple, spots))) == n, "households still drawn on top of each other"
    # a spread-out household opens its popup, and from there its building (以房管人)
    x, y = min(spots, key=lambda s: s[1])
    box = page.evaluate("() => window.__paMaps[0].getContainer().getBoundingClientRect().toJSON()")
    page.mouse.click(box["left"] + x, box["top"] + y)
    page.wait_for_selector(".leaflet-popup .pa-popup-more", timeout=30000)
    page.locator(".leaflet-popup .pa-popup-more").click()
    page.wait_for_selector(".leaflet-popup .pa-popup-section", timeout=30000)
    text = page.locator(".leaflet-popup").inner_text()
    assert text.startswith("房屋") and f"{n} 户" in text
    assert not re.search(r"\b\d{17}[\dX]\b", text) and re.search(r"\d{6}\*{8}[\dX\d]{4}", text)


def test_grid_popup_lists_its_workers_with_masked_phones(page, console_url, world_db):
    grid = one(world_db, "select grid_code from grid_worker group by grid_code order by count(*) desc limit 1")[0]
    open_area(page, console_url, grid)
    box = page.locator(f".area-label-text[data-code='{grid}']").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".leaflet-popup .pa-popup-section", timeout=30000)
    text = page.locator(".leaflet-popup").inner_text()
    from tests.test_map_popups import worker

    name, phone = worker(world_db, grid)  # through the store: phones are encrypted at rest
    assert name in text and phone not in text and f"{phone[:3]}****{phone[-4:]}" in text
    assert "户数" in text and "实有人口" in text
    assert "area=" + grid in page.url  # a click on the grid shown opens its popup, it does not navigate


def test_hot_grids_are_a_ranked_list_whose_rows_fly_the_map(page, console_url, world_db):
    page.goto(console_url + "/disputes/stats")
    page.wait_for_selector(".pa-hot-table .ag-row", timeout=60000)
    rows = page.locator(".pa-hot-table .ag-center-cols-container .ag-row")
    assert rows.count() >= 3
    counts = [int(c) for c in page.locator(".pa-hot-table .ag-center-cols-container [col-id='count']")
              .all_inner_texts()]
    assert counts == sorted(counts, reverse=True)
    first = page.locator(".pa-hot-table .ag-center-cols-container .ag-row[row-index='2']")
    grid_name = first.locator("[col-id='grid']").inner_text()
    assert not re.fullmatch(r"\d{15}", grid_name) and "·" in first.locator("[col-id='place']").inner_text()
    code = first.get_attribute("row-id")
    s, w, n, e = one(world_db, "select min_lat, min_lon, max_lat, max_lon from grid where code=?"
                               " and generation_high is null", code)
    hot_map = "window.__paMaps[window.__paMaps.length - 1]"
    page.wait_for_function(f"() => {hot_map} && {hot_map}._loaded", timeout=30000)
    zoom_before = page.evaluate(f"() => {hot_map}.getZoom()")
    first.locator("[col-id='grid']").click()
    page.wait_for_function(f"""([s, w, n, e]) => {{ const b = {hot_map}.getBounds();
        return b.contains([[s, w], [n, e]]) && {hot_map}.getZoom() >= 12; }}""", arg=[s, w, n, e], timeout=30000)
    assert page.evaluate(f"() => {hot_map}.getZoom()") > zoom_before
    total = int(re.search(r"共 (\d+) 个网格", page.locator("#ds-hot-note").inner_text()).group(1))
    assert page.locator(".pa-hot-label").count() == total >= rows.count()  # every ranked grid is on the map
    assert page.locator(f".pa-hot-rank[data-code='{code}']").inner_text() == "3"
