"""The command hall in headless Chromium: the wall's live banner and rotating dashboard in large type, the time
replay over the grid generation in force, the map's search box (masked, scoped, audited), the heat map with
环比/同比 and the county ranking. Each runs on a private copy of the session's world with a few alerts and events
and a second grid generation written the way the console stores them."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

import pytest

from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401
from tests.security_login import console_on_copy, login_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("hall-browser")]

WALL, COUNTY, TOWN, ELSEWHERE = "hall_wall", "hall_county", "hall_town", "hall_elsewhere"
NOW = datetime.utcnow().replace(microsecond=0)
ALERT_TITLE = "测试预警标题不应上墙"
# Leaflet's public init hook: every map the page makes, so a test can read its layers as an outsider would.
MAPS = """(() => { window.__paMaps = []; let l;
    Object.defineProperty(window, 'L', {configurable: true, get() { return l; }, set(v) { l = v;
        if (v && v.Map && !v.Map.__hallHook) { v.Map.__hallHook = true; v.Map.addInitHook(function () { window.__paMaps.push(this); }); } }});
})();"""


def _moments_of_today(now: datetime) -> list[datetime]:
    """Four moments (naive UTC) before `now` within the Beijing day it falls in — the day the wall and the replay
    count as 今天: 30–90 minutes ago, or, just after Beijing midnight (16:00 UTC), spread over the minutes since."""
    day_start = (now + timedelta(hours=8)).replace(hour=0, minute=0, second=0) - timedelta(hours=8)
    if now - day_start > timedelta(hours=2):
        return [now - timedelta(minutes=30 + i * 20) for i in range(4)]
    return [now - (now - day_start) * (i + 1) / 5 for i in range(4)]


def _seed(db: str) -> dict:
    """Alerts (3 new, 1 acknowledged), events and a redraw of one grid two days ago (generation 2)."""
    con = sqlite3.connect(db)
    con.execute("delete from event")  # the demo world's own month of reports: the counts below are exactly these
    grid = con.execute("select code, village_code, min_lon, min_lat, max_lon, max_lat, label_lon, label_lat"
                       " from grid where generation_high is null order by code limit 1").fetchone()
    code, village, x0, y0, x1, y1, lx, ly = grid
    county = code[:6]
    town = code[:9]
    for i, t in enumerate(_moments_of_today(NOW)):
        con.execute("insert into event (source, source_event_id, kind, occurred_at, received_at, payload, lon, lat,"
                    " county_code, town_code, village_code, grid_code) values (?,?,?,?,?,?,?,?,?,?,?,?)",
                    ("test", f"hall-{i}", "tag_position", t, t, "{}", lx, ly, county, town, village, code))
        eid = con.execute("select last_insert_rowid()").fetchone()[0]
        con.execute("insert into alert (event_id, rule, kind, severity, state, title, raised_at, updated_at, lon, lat,"
                    " county_code, town_code, village_code, grid_code) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (eid, "test", "tag", "high", "new" if i < 3 else "acknowledged", ALERT_TITLE, t, t, lx, ly,
                     county, town, village, code))
    redraw = NOW - timedelta(days=2)
    con.execute("update generation set created_at=?", (NOW - timedelta(days=30),))  # the first drawing, a month ago
    gen = con.execute("select max(id) from generation").fetchone()[0] + 1
    con.execute("insert into generation (id, scope_code, created_at, created_by, reason) values (?,?,?,?,?)",
                (gen, village, redraw, "test", "重划"))
    con.execute("update grid set generation_high=? where code=? and generation_high is null", (gen - 1, code))
    new_code = village + "901"
    con.execute("insert into grid (code, name, kind, village_code, generation_low, households, residents, drawn_by,"
                " geom_wkb, min_lon, min_lat, max_lon, max_lat, label_lon, label_lat, area_km2)"
                " select ?, '重划网格', kind, village_code, ?, households, residents, 'test', geom_wkb, min_lon, min_lat,"
                " max_lon, max_lat, label_lon, label_lat, area_km2 from grid where code=?", (new_code, gen, code))
    case = con.execute("select code, grid_code from dispute where grid_code like ? order by code limit 1",
                       (county + "%",)).fetchone()
    other = con.execute("select code from dispute where county_code != ? order by code limit 1", (county,)).fetchone()
    person = con.execute("select name, grid_code from person where grid_code like ? and length(name) >= 2"
                         " order by id limit 1", (town + "%",)).fetchone()
    elsewhere = con.execute("select code from area where level='town' and code != ? order by code limit 1",
                            (town,)).fetchone()[0]
    con.commit()
    con.close()
    return {"elsewhere": elsewhere, "old": code, "new": new_code, "generation": gen, "redraw": redraw, "county": county, "town": town,
            "case": case, "other_case": other[0] if other else None, "person": person}


@pytest.fixture(scope="module")
def hall(world_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hall")
    import shutil

    seeded = folder / "seeded.sqlite"
    shutil.copy(world_db, seeded)
    ref = _seed(str(seeded))
    town = ref["town"]
    gen = console_on_copy(str(seeded), folder, [(WALL, ["wall_display"], ["610900"]),
                                                (COUNTY, ["county"], [ref["county"]]),
                                                (TOWN, ["town"], [town]),
                                                (ELSEWHERE, ["town"], [ref["elsewhere"]])])
    with gen as (url, sessions):
        yield {"url": url, "sessions": sessions, "db": str(folder / "w.sqlite"), **ref}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser, hall, user, width=1920, height=1080):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.add_init_script(MAPS)
    page = context.new_page()
    login_page(page, hall["url"], user)
    return page


def test_wall_banner_clock_and_rotating_dashboard_in_large_type(browser, hall):
    page = _page(browser, hall, WALL)
    page.goto(hall["url"] + "/hall?interval=5")
    page.wait_for_selector("#hall-unack")
    assert page.inner_text("#hall-unack") == "3"  # the three new alerts; the acknowledged one is not counted
    waited = page.inner_text("#hall-waited")  # since the oldest new alert (the third seeded moment)
    found = re.fullmatch(r"(\d+) 分钟|(\d+) 小时 (\d+) 分", waited)
    assert found, waited
    shown = int(found[1]) if found[1] else 60 * int(found[2]) + int(found[3])
    expected = (datetime.utcnow() - _moments_of_today(NOW)[2]).total_seconds() / 60
    assert expected - 2 <= shown <= expected + 1, (waited, expected)
    assert re.fullmatch(r"\d\d:\d\d:\d\d", page.inner_text("#hall-as-of"))
    clock = page.locator(".pa-hall-clock")
    first = clock.inner_text()
    page.wait_for_function("t => document.querySelector('.pa-hall-clock').innerText !== t", arg=first,
                           timeout=8000)  # the clock ticks (a loaded machine may skip a second)
    panel = lambda: page.get_attribute(".pa-hall-panel", "data-panel")  # noqa: E731
    assert panel() == "overview"
    page.wait_for_function("document.querySelector('.pa-hall-panel').dataset.panel === 'alerts'", timeout=9000)
    page.wait_for_function("document.querySelector('.pa-hall-panel').dataset.panel === 'disputes'", timeout=9000)
    page.wait_for_function("document.querySelector('.pa-hall-panel').dataset.panel === 'ranking'", timeout=9000)
    assert page.locator(".pa-hall-table tbody tr").count() >= 2  # the counties, ranked
    # readable from 8 m: every text on the wall (banner and panel) at least 32 px high on a 1920×1080 screen
    smallest = page.evaluate("""() => { let min = 1e9; const walk = el => {
        for (const n of el.childNodes) { if (n.nodeType === 3 && n.textContent.trim()) {
            min = Math.min(min, parseFloat(getComputedStyle(n.parentElement).fontSize)); } else if (n.nodeType === 1) walk(n); } };
        walk(document.querySelector('.pa-hall-banner')); walk(document.querySelector('.pa-hall-panel')); return min; }""")
    assert smallest >= 30, f"smallest text on the wall {smallest}px"
    assert ALERT_TITLE not in page.content()  # counts on the wall, never an alert's text
    page.context.close()


@pytest.mark.parametrize("user, count", [(TOWN, "3"), (ELSEWHERE, "0")])
def test_wall_banner_counts_only_the_scope(browser, hall, user, count):
    page = _page(browser, hall, user)
    page.goto(hall["url"] + "/hall")
    page.wait_for_selector("#hall-unack")
    assert page.inner_text("#hall-unack") == count  # the alerts are in the first town, none in the other
    page.context.close()


def _replay(page, hall, first, last, step="24"):
    page.goto(hall["url"] + "/replay")
    page.wait_for_selector("#rp-caption:has-text('代网格')", timeout=30000)
    page.fill("#rp-first", first)
    page.fill("#rp-last", last)
    page.locator("#rp-last").press("Enter")
    page.click(f"#rp-step input[value='{step}']")


def _grid_codes(page):
    return page.evaluate("""() => { const out = new Set(); const m = window.__paMaps[0];
        m.eachLayer(l => { const p = l.feature && l.feature.properties; if (p && p.code && p.generation) out.add(p.code); });
        return [...out]; }""")


def test_replay_draws_the_grid_generation_in_force_and_the_day_s_activity(browser, hall):
    page = _page(browser, hall, COUNTY)
    before = (hall["redraw"] + timedelta(hours=8) - timedelta(days=3)).date().isoformat()
    today = (NOW + timedelta(hours=8)).date().isoformat()
    _replay(page, hall, before, before)
    after = (hall["redraw"] + timedelta(hours=8) - timedelta(days=2)).date().isoformat()
    page.wait_for_selector(f"#rp-caption:has-text('{before} 00:00 至 {after} 00:00')")
    page.wait_for_function("() => window.__paMaps[0] && (() => { let n = 0; window.__paMaps[0].eachLayer(l => {"
                           " if (l.feature && l.feature.properties.generation) n++; }); return n > 0; })()")
    codes = _grid_codes(page)
    assert hall["old"] in codes and hall["new"] not in codes
    assert "第 1 代网格" in page.inner_text("#rp-caption")
    _replay(page, hall, today, today)
    page.wait_for_selector(f"#rp-caption:has-text('第 {hall['generation']} 代网格')", timeout=20000)
    page.wait_for_function(f"() => {{ let f = false; window.__paMaps[0].eachLayer(l => {{"
                           f" if (l.feature && l.feature.properties.code === '{hall['new']}') f = true; }}); return f; }}")
    codes = _grid_codes(page)
    assert hall["new"] in codes and hall["old"] not in codes
    caption = page.inner_text("#rp-caption")
    assert "事件 4 件" in caption and "预警 4 件" in caption, caption
    # a forged range is refused in words, never a 500
    page.fill("#rp-first", "2020-01-01")
    page.locator("#rp-first").press("Enter")
    page.wait_for_selector("#rp-caption:has-text('回放范围最长')")
    page.context.close()


def test_search_flies_to_a_case_and_finds_people_masked_within_scope(browser, hall):
    page = _page(browser, hall, COUNTY)
    page.goto(hall["url"] + "/")
    page.wait_for_selector("#search-text")
    code, grid = hall["case"]
    page.fill("#search-text", code)
    page.press("#search-text", "Enter")
    page.wait_for_selector(".pa-search-hit")
    page.click(".pa-search-hit")
    page.wait_for_function(f"() => location.search.indexOf('area={grid}') >= 0", timeout=20000)
    page.wait_for_function(f"() => (document.getElementById('kpi-area') || {{}}).textContent === '{grid}'",
                           timeout=20000)  # the map and its KPIs show the case's grid
    if hall["other_case"]:  # a case of another county is answered like a missing one
        page.fill("#search-text", hall["other_case"])
        page.press("#search-text", "Enter")
        page.wait_for_selector(".pa-search-note:has-text('没有找到')")
    name, _ = hall["person"]
    page.fill("#search-text", name)
    page.press("#search-text", "Enter")
    page.wait_for_selector(".pa-search-hit:has-text('人员')")
    text = page.inner_text("#search-hits")
    assert name not in text and name[0] + "*" in text  # masked
    assert not re.search(r"\d{15}", text)  # grids by name, not by code
    con = sqlite3.connect(hall["db"])
    rows = con.execute("select action, object from audit_log where actor=? and action='record.search'",
                       (COUNTY,)).fetchall()
    con.close()
    assert rows, "a search reaching people is audited"
    page.context.close()


def test_the_wall_finds_places_never_people(browser, hall):
    page = _page(browser, hall, WALL)
    page.goto(hall["url"] + "/")
    page.wait_for_selector("#search-text")
    page.fill("#search-text", hall["person"][0])
    page.press("#search-text", "Enter")
    page.wait_for_selector("#search-hits > *")
    assert "人员" not in page.inner_text("#search-hits")
    page.context.close()


def test_heat_map_month_on_month_year_on_year_and_ranking(browser, hall):
    page = _page(browser, hall, COUNTY)
    off_host = []
    page.on("request", lambda r: off_host.append(r.url) if not r.url.startswith((hall["url"], "data:")) else None)
    loaded = []
    page.on("response", lambda r: loaded.append(r.url) if "leaflet-heat" in r.url else None)
    page.goto(hall["url"] + "/analysis")
    page.wait_for_selector("canvas.leaflet-heatmap-layer", timeout=30000)
    page.wait_for_function("""() => { const c = document.querySelector('canvas.leaflet-heatmap-layer');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; } return false; }""", timeout=20000)
    assert any("/assets/vendor/leaflet-heat.js" in u for u in loaded) and not off_host
    cards = page.locator(".pa-an-card")
    assert cards.count() >= 2
    assert re.search(r"环比\s*([+-]\d+\.\d%|持平|—)", cards.first.inner_text())
    assert re.search(r"同比\s*([+-]\d+\.\d%|持平|—)", cards.first.inner_text())
    assert page.locator("#an-ranking tbody tr").count() == 1  # a county account ranks its own county only
    page.click("#an-kind input[value='events']")
    page.wait_for_selector("#an-caption:has-text('事件热力：共 4 件')")
    page.context.close()
