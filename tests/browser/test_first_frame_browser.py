"""The first frame of a full page load (login, reload, a `?area=` deep link at any level): the map is drawn at
the area's extent, its size is the pane's (so the basemap fills the pane, not a box), before any click.

The page's own Leaflet maps are observed through Leaflet's public init hook, installed by an init script
before any page script runs, and sampled on every animation frame; nothing of the app is relied on."""

from __future__ import annotations

import sqlite3

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("console-browser")]

# Record every L.Map the page creates, and on every animation frame the state of the first one.
OBSERVE = """(() => {
    window.__paMaps = []; window.__paFrames = [];
    let leaflet;
    Object.defineProperty(window, 'L', {configurable: true, enumerable: true, get() { return leaflet; },
        set(v) {
            leaflet = v;
            if (v && v.Map && !v.Map.__paObserved) {
                v.Map.__paObserved = true;
                v.Map.addInitHook(function () { window.__paMaps.push(this); });
            }
        }});
    function sample() {
        const m = window.__paMaps[0];
        if (m && m._loaded) {
            const c = m.getContainer(), b = m.getBounds(), s = m.getSize();
            window.__paFrames.push({labels: document.querySelectorAll('.area-label-text').length,
                size: [s.x, s.y], box: [c.clientWidth, c.clientHeight], zoom: m.getZoom(),
                bounds: [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]});
        }
        requestAnimationFrame(sample);
    }
    requestAnimationFrame(sample);
})();"""

# The zoom at which `bounds` just fits the current map (same padding as the app's fitBounds, 20 px a side).
FIT_ZOOM = """b => { const m = window.__paMaps[0];
    return m.getBoundsZoom(window.L.latLngBounds([b[0], b[1]], [b[2], b[3]]), false, window.L.point(40, 40)); }"""


def bbox(db_path: str, code: str) -> list[float]:
    """[south, west, north, east] of an area or a current grid, from the database itself."""
    con = sqlite3.connect(db_path)
    table, extra = ("grid", " and generation_high is null") if len(code) == 15 else ("area", "")
    row = con.execute(f"select min_lat, min_lon, max_lat, max_lon from {table} where code=?{extra}",
                      (code,)).fetchone()
    con.close()
    return list(row)


def deep_links(db_path: str) -> list[str]:
    con = sqlite3.connect(db_path)
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    village = one("select village_code from grid where generation_high is null group by village_code"
                  " order by count(*) desc limit 1")
    grid = one(f"select code from grid where village_code='{village}' and generation_high is null order by code")
    town = village[:9]
    county = one("select code from area where level='county' order by code desc limit 1")
    con.close()
    return ["610900", county, town, village, grid]


def check_frame(frame, want, page, where):
    assert frame["size"] == frame["box"], f"{where}: map size {frame['size']} ≠ pane {frame['box']} (basemap cut)"
    s, w, n, e = frame["bounds"]
    tol = 1e-6
    assert s <= want[0] + tol and w <= want[1] + tol and n >= want[2] - tol and e >= want[3] - tol, \
        f"{where}: the area {want} is not all on screen {frame['bounds']}"
    fit = page.evaluate(FIT_ZOOM, want)
    # 0.6: room for the padding that keeps a panel laid over the map off the area
    assert frame["zoom"] >= fit - 0.6, f"{where}: zoom {frame['zoom']} is far out from the area's {fit}"


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4], ids=["city", "county", "town", "village", "grid"])
def test_deep_link_first_frame_shows_the_area(logged_in_context, console_url, world_db, level):
    code = deep_links(world_db)[level]
    want = bbox(world_db, code)
    page = logged_in_context.new_page()
    page.add_init_script(OBSERVE)
    for how in ("link", "reload"):
        if how == "link":
            page.goto(f"{console_url}/?area={code}")
        else:
            page.reload()
        page.wait_for_function("() => window.__paFrames.some(f => f.labels > 0)", timeout=30000)
        first = page.evaluate("() => window.__paFrames.find(f => f.labels > 0)")
        check_frame(first, want, page, f"{how} {code}: first frame with the area drawn")
        page.wait_for_timeout(1500)  # the side panels fill in; the map must keep its pane and extent
        last = page.evaluate("() => window.__paFrames[window.__paFrames.length - 1]")
        check_frame(last, want, page, f"{how} {code}: settled")
    page.close()


def test_first_frame_after_login(chromium, console_url, world_db):
    """The page the login form lands on (the city) is drawn at the city's extent at once."""
    from tests.browser.conftest import CONSOLE_USER
    from tests.security_login import login_page

    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    context.add_init_script(OBSERVE)
    page = context.new_page()
    login_page(page, console_url, CONSOLE_USER)
    page.wait_for_function("() => window.__paFrames.some(f => f.labels > 0)", timeout=30000)
    want = bbox(world_db, "610900")
    check_frame(page.evaluate("() => window.__paFrames.find(f => f.labels > 0)"), want, page, "after login")
    page.wait_for_timeout(1500)
    check_frame(page.evaluate("() => window.__paFrames[window.__paFrames.length - 1]"), want, page, "settled")
    context.close()


def test_the_duty_desk_opens_at_the_viewers_area(logged_in_context, console_url, world_db):
    """The duty page's map: the viewer's whole area in the first frame (it opened at a fixed zoom, so at 1920 px the
    basemap's extent showed as a box inside the pane)."""
    page = logged_in_context.new_page()
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.add_init_script(OBSERVE)
    page.goto(f"{console_url}/duty")
    page.wait_for_function("() => window.__paFrames.length > 0", timeout=30000)
    want = bbox(world_db, "610900")
    check_frame(page.evaluate("() => window.__paFrames[0]"), want, page, "duty: first frame")
    page.wait_for_timeout(1500)
    check_frame(page.evaluate("() => window.__paFrames[window.__paFrames.length - 1]"), want, page, "duty: settled")
    # no box: where the view reaches past the shipped basemap, the pane's ground is the cities' own fill (the top one)
    ground, fill = page.wait_for_function("""() => { const m = window.__paMaps[0]; let fill = null;
        m.eachLayer(l => { if (!fill && l.options && l.options.pane === 'pa-base-cities' && l.feature) {
            fill = l.options.fillColor; } });
        return fill && [getComputedStyle(m.getContainer()).backgroundColor, fill]; }""", timeout=30000).json_value()
    hexed = "#%02x%02x%02x" % tuple(int(x) for x in ground[ground.index("(") + 1:ground.index(")")].split(",")[:3])
    assert hexed == fill.lower(), f"the pane's ground {ground} shows around the basemap's fill {fill} as a box"
    page.close()
