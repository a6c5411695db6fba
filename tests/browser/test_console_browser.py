"""Drill-down in a real headless Chromium: what is drawn must match the database; nothing leaves the host."""

from __future__ import annotations

import re
import sqlite3
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

LEVEL_COLUMN = {6: "county_code", 9: "town_code", 12: "village_code", 15: "grid_code"}


class DB:
    def __init__(self, path):
        self.con = sqlite3.connect(path)

    def children(self, code):
        if len(code) == 12:
            rows = self.con.execute("select name from grid where village_code=? and generation_high is null", (code,))
        else:
            rows = self.con.execute("select name from area where parent_code=?", (code,))
        return sorted(r[0] for r in rows)

    def name(self, code):
        table = "grid" if len(code) == 15 else "area"
        extra = " and generation_high is null" if table == "grid" else ""
        return self.con.execute(f"select name from {table} where code=?{extra}", (code,)).fetchone()[0]

    def count(self, table, code, where=""):
        clause = "1=1" if code == "610900" else f"{LEVEL_COLUMN[len(code)]}='{code}'"
        return self.con.execute(f"select count(*) from {table} where {clause} {where}").fetchone()[0]


def area_in_url(page) -> str | None:
    return (parse_qs(urlparse(page.url).query).get("area") or [None])[0]


def labels(page, parent):
    loc = page.locator(f'.area-label-text[data-parent="{parent}"]')
    return sorted(loc.all_text_contents())


def wait_for_area(page, db, code):
    """`code` shown: its name in the breadcrumb, its children drawn, its residents in the KPI panel."""
    page.wait_for_function("t => (document.querySelector('.pa-crumb-current') || {}).textContent === t",
                           arg=db.name(code), timeout=30000)
    expected = db.children(code)
    if expected:
        page.wait_for_function("([p, n]) => document.querySelectorAll(`.area-label-text[data-parent='${p}']`)"
                               ".length === n", arg=[code, len(expected)], timeout=30000)
        assert labels(page, code) == expected
    residents = f"{db.count('person', code):,}"
    page.wait_for_function("t => (document.getElementById('kpi-residents') || {}).textContent === t",
                           arg=residents, timeout=30000)


CLICKABLE_LABEL = """p => {
    const out = [];
    for (const el of document.querySelectorAll(`.area-label-text[data-parent='${p}']`)) {
        const r = el.getBoundingClientRect();
        const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
        for (const [dx, dy] of [[0, 0], [0, -14], [0, 14], [-20, 0], [20, 0], [-14, -14], [14, 14]]) {
            const hit = document.elementFromPoint(cx + dx, cy + dy);
            const bubble = hit && hit.closest && hit.closest('.pa-bubble');
            if (hit && (hit.tagName === 'CANVAS' || (bubble && bubble.dataset.code === el.dataset.code))) {
                out.push([cx + dx, cy + dy]);
                break;
            }
        }
    }
    return out.length ? out[0] : null;
}"""


def click_child(page, parent) -> str:
    """Click a child's label (on the polygon under it) and return the area the console went to."""
    previous = None
    for _ in range(20):  # wait until the map has settled (fitBounds) so the label does not move under us
        spot = page.evaluate(CLICKABLE_LABEL, parent)
        if spot and spot == previous:
            break
        previous = spot
        page.wait_for_timeout(250)
    assert spot, "no child label is clickable"
    page.mouse.click(*spot)
    page.wait_for_function("p => new URLSearchParams(location.search).get('area') &&"
                           " new URLSearchParams(location.search).get('area') !== p", arg=parent, timeout=30000)
    return area_in_url(page)


@pytest.fixture()
def page(logged_in_context):
    page = logged_in_context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    yield page


def test_drill_down_city_to_grid_and_back(page, console_url, world_db):
    db = DB(world_db)
    page.goto(console_url + "/")
    wait_for_area(page, db, "610900")
    assert page.locator(".pa-crumb-current").inner_text() == "安康市"
    assert page.locator("#kpi-households").inner_text() == f"{db.count('household', '610900'):,}"
    # the charts follow the map: Plotly (this app's vendored file, fetched once the view is drawn) draws the bars
    page.wait_for_selector("#ov-trend .main-svg .barlayer .point", timeout=30000)
    assert any(u.endswith("/assets/vendor/plotly-basic.min.js") for u in page.requests)
    assert not any("dash_ag_grid.min.js" in u for u in page.requests)  # no grid table yet: AG Grid not fetched
    page.evaluate("() => { const gd = document.querySelector('#ov-trend.js-plotly-plot');"
                  " gd.dataset.paMark = 'first'; window.__paTrendData = gd.data; }")
    trail = ["610900"]
    for depth in (6, 9, 12, 15):
        code = click_child(page, trail[-1])
        assert len(code) == depth and code.startswith(trail[-1][:4])
        wait_for_area(page, db, code)
        trail.append(code)
        if depth == 6:  # the charts follow the area, redrawn in place (Plotly.react on the same element)
            page.wait_for_function("() => { const gd = document.querySelector('#ov-trend.js-plotly-plot');"
                                   " return gd && gd.data !== window.__paTrendData; }", timeout=30000)
            assert page.evaluate("document.querySelector('#ov-trend.js-plotly-plot').dataset.paMark") == "first"
        if depth == 6:  # above town level AG Grid is not fetched at all
            assert not any("dash_ag_grid" in u for u in page.requests)
        if depth == 9:  # from a town down it is fetched ahead, while the browser is idle (the path leads to grids)
            page.wait_for_function("() => ['dash_ag_grid/dash_ag_grid.min.js', 'dash_ag_grid/async-community.js']"
                                   ".every(f => performance.getEntriesByType('resource').some(e => e.name.includes(f)))",
                                   timeout=30000)
        crumbs = page.locator(".pa-crumbs").inner_text()
        assert crumbs.startswith("安康市")
    # grid level: the side table lists the grid's persons with identity numbers masked
    page.get_by_role("tab", name="人员").click() if page.get_by_role("tab", name="人员").count() else \
        page.locator(".pa-tabs >> text=人员").click()
    persons = db.count("person", trail[-1])
    if persons:
        page.wait_for_selector(".ag-row", timeout=30000)
        assert any("/_dash-component-suites/dash_ag_grid/dash_ag_grid.min.js" in u for u in page.requests)
        text = page.locator(".pa-grid").inner_text()
        ids = re.findall(r"\b\d{6}\*{8}[\dX]{4}\b", text)
        assert ids and not re.search(r"\b\d{17}[\dX]\b", text)
    # the browser's back button restores the village, a breadcrumb goes up to the city
    page.go_back()
    page.wait_for_function("c => new URLSearchParams(location.search).get('area') === c", arg=trail[-2])
    wait_for_area(page, db, trail[-2])
    page.locator(".pa-crumb", has_text="安康市").click()
    wait_for_area(page, db, "610900")
    off_host = [u for u in page.requests if not u.startswith(console_url) and not u.startswith("data:")]
    assert off_host == []


def test_link_to_area_and_unknown_code(page, console_url, world_db):
    db = DB(world_db)
    county = db.con.execute("select code, name from area where level='county' order by code desc").fetchone()
    page.goto(f"{console_url}/?area={county[0]}")
    wait_for_area(page, db, county[0])
    assert page.locator(".pa-crumb-current").inner_text() == county[1]
    page.goto(f"{console_url}/?area=610999999")
    page.wait_for_selector(".pa-alert", timeout=30000)
    assert "未找到区划代码" in page.locator(".pa-alert").inner_text()
    wait_for_area(page, db, "610900")


XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


def test_popups_and_labels_render_markup_as_text(page, console_url):
    page.goto(console_url + "/")
    page.wait_for_function("() => window.pingan && window.pingan.map")
    html = page.evaluate("""x => {
        const box = window.pingan.map.popupTable({title: x, rows: [[x, x]]});
        document.body.appendChild(box);
        const layer = {bindTooltip: (el) => document.body.appendChild(el), on: () => layer};
        window.pingan.map.areaEach({properties: {name: x, code: '1', parent: '0'}}, layer, {});
        return box.innerHTML;
    }""", XSS)
    page.wait_for_timeout(300)
    assert "&lt;img" in html and "<img" not in html and "<script" not in html
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0


def test_first_view_comes_with_its_layout(logged_in_context, console_url, world_db):
    """The overview's layout already shows its area (a deep link included): no drill-step round trip before the
    map is drawn, and Plotly is fetched only after the view is on screen."""
    db = DB(world_db)
    page = logged_in_context.new_page()
    posts = []
    page.on("request", lambda r: posts.append(r.post_data or "") if "_dash-update-component" in r.url else None)
    town = db.con.execute("select code from area where level='town' order by code limit 1").fetchone()[0]
    page.goto(f"{console_url}/?area={town}")
    wait_for_area(page, db, town)
    assert not [p for p in posts if "ov-resolved.data" in p], "the first view waited for show_area"
    page.wait_for_selector("#ov-trend .main-svg", timeout=30000)  # the charts follow
    entries = page.evaluate("() => performance.getEntriesByType('resource')"
                            ".map(e => [e.name, e.startTime, e.responseEnd])")
    # Plotly is asked for only once the charts' figures came back, and those only after the view was painted.
    plotly = [start for name, start, _ in entries if name.endswith("/assets/vendor/plotly-basic.min.js")]
    figures_back = min(end for name, _, end in entries if "_dash-update-component" in name)
    assert len(plotly) == 1 and plotly[0] >= figures_back
    assert posts and "ov-chart-figures.data" in posts[0]  # the first callback of the page is the charts'
    page.close()
