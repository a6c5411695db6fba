"""What a user sees, measured in a logged-in Chromium context (used by benchmarks/console.py):

- `deeplink_extent`: share of deep links (`/?area=…`, mixed levels) whose first painted frame with the area drawn
  shows the area's whole extent with the map the size of its pane (the basemap fills it, not a box);
- `latin_words`: Latin words rendered as visible text on a list of pages, outside an allow list.

The page's Leaflet maps are observed through Leaflet's public init hook (tests/browser/test_first_frame_browser.py)."""

from __future__ import annotations

import re
import sqlite3

from tests.browser.test_first_frame_browser import FIT_ZOOM, OBSERVE
from tests.browser.visible_text import VISIBLE_TEXT, latin_words

def page_latin(page, url: str, settle_ms: int = 1500) -> list[str]:
    page.goto(url)
    try:
        page.wait_for_load_state("networkidle", timeout=20000)
    except Exception:  # a page that polls never idles; it has drawn by now
        pass
    page.wait_for_timeout(settle_ms)
    return latin_words(page.evaluate(VISIBLE_TEXT))


def mixed_links(db: str, per_level: int = 5) -> list[str]:
    """20 deep links: the city, 4 counties and `per_level` towns, villages and current grids, spread over the city."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def spread(sql: str, n: int) -> list[str]:
        rows = [r[0] for r in con.execute(sql)]
        if len(rows) <= n:
            return rows
        step = len(rows) / n
        return [rows[int(i * step)] for i in range(n)]
    links = ["610900"]
    links += spread("select code from area where level='county' order by code", 4)
    links += spread("select code from area where level='town' order by code", per_level)
    links += spread("select code from area where level='village' order by code", per_level)
    links += spread("select code from grid where generation_high is null order by code", per_level)
    con.close()
    return links


def bbox(db: str, code: str) -> list[float]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    table, extra = ("grid", " and generation_high is null") if len(code) == 15 else ("area", "")
    row = con.execute(f"select min_lat, min_lon, max_lat, max_lon from {table} where code=?{extra}", (code,)).fetchone()
    con.close()
    return list(row)


def frame_ok(frame: dict, want: list[float], fit_zoom: float) -> tuple[bool, str]:
    if frame["size"] != frame["box"]:
        return False, f"map {frame['size']} ≠ pane {frame['box']}"
    s, w, n, e = frame["bounds"]
    tol = 1e-6
    if not (s <= want[0] + tol and w <= want[1] + tol and n >= want[2] - tol and e >= want[3] - tol):
        return False, f"area {want} not all on screen {frame['bounds']}"
    if frame["zoom"] < fit_zoom - 0.6:
        return False, f"zoom {frame['zoom']} far out from {fit_zoom}"
    return True, ""


def deeplink_extent(context, base: str, db: str, links: list[str]) -> tuple[float, list[dict]]:
    """(share of links whose first drawn frame shows the whole area in a full pane, per-link details)."""
    details = []
    for code in links:
        page = context.new_page()
        page.add_init_script(OBSERVE)
        page.goto(f"{base}/?area={code}")
        try:
            page.wait_for_function("() => window.__paFrames.some(f => f.labels > 0)", timeout=30000)
            first = page.evaluate("() => window.__paFrames.find(f => f.labels > 0)")
            want = bbox(db, code)
            ok, why = frame_ok(first, want, page.evaluate(FIT_ZOOM, want))
        except Exception as exc:  # no frame with the area drawn at all
            ok, why = False, f"no frame: {type(exc).__name__}"
        details.append({"area": code, "ok": ok, **({"why": why} if why else {})})
        page.close()
    return (sum(d["ok"] for d in details) / len(details) if details else 0.0), details


def login(context, base: str, username: str, password: str) -> None:
    """Log the context in over HTTP (the session cookie lands in the context; no page is drawn)."""
    form = context.request.get(base + "/login").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    context.request.post(base + "/login", form={"username": username, "password": password, "csrf_token": token},
                         headers={"Origin": base}, max_redirects=0)


# The business roles whose pages are read for Latin words (the 三员 log in with a second factor: their two pages
# are plain forms and tables the console writes itself).
LATIN_ROLES = ("county", "duty_officer", "grid_planner", "dispute_handler", "city_leader", "wall_display")
EXTRA_PAGES = {"county": ("/disputes/stats",), "dispute_handler": ("/disputes/stats",)}


def pages_for(role: str, scope: str) -> list[str]:
    from console.security.guard import Viewer
    from console.services.navigation import visible_pages

    return [href for href, _ in visible_pages(Viewer.build("bench", [role], [scope]))] + list(EXTRA_PAGES.get(role, ()))
