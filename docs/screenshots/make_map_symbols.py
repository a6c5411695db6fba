"""Take the "Map symbols" screenshots of docs/console.md at 1920×1080: labels and bubbles, the choropleth by
density, stacked households spread out, a grid's popup, a building's popup, and 热点网格.

    python docs/screenshots/make_map_symbols.py --db data/ankang.sqlite
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sqlite3
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE.parents[1] / "tests"))  # tests/security_login.py imports sectest

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OBSERVE = """(() => { window.__paMaps = []; let leaflet;
    Object.defineProperty(window, 'L', {configurable: true, enumerable: true, get() { return leaflet; },
        set(v) { leaflet = v; if (v && v.Map && !v.Map.__paObserved) { v.Map.__paObserved = true;
            v.Map.addInitHook(function () { window.__paMaps.push(this); }); } }}); })();"""
TO_SCREEN = """([lat, lon]) => { const m = window.__paMaps[0]; const p = m.latLngToContainerPoint([lat, lon]);
    const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"""


def pick(db: str) -> dict:
    con = sqlite3.connect(db)
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    grid, lon, lat = one("select grid_code, lon, lat from household group by lon, lat order by count(*) desc limit 1")
    town = one("select parent_code from area where level='village' and code like '610924%' group by parent_code"
               " order by count(*) desc limit 1")[0]
    return {"grid": grid, "lon": lon, "lat": lat, "town": town}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="data/ankang.sqlite")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from sqlalchemy import update
    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings
    from console.store import make_engine
    from console.store.codes import CITY_CODE
    from console.store.security_models import Account
    from tests.security_login import add_account

    spots = pick(args.db)
    account, password = f"shots-{secrets.token_hex(4)}", "Sh!" + secrets.token_urlsafe(18)
    add_account(args.db, account, roles=("county",), scope=(CITY_CODE,), password=password)
    app = create_app(args.db, settings=Settings(warm_cache=False))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    def shot(page, name):
        page.wait_for_timeout(1200)
        out = HERE / f"{name}.png"
        page.screenshot(path=str(out))
        print(out)

    def area(page, code, attr="data-parent"):
        page.goto(f"{base}/?area={code}")
        page.wait_for_selector(f".area-label-text[{attr}='{code}']", timeout=120000)
        page.wait_for_timeout(2000)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS,
                                    env={**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN:zh"})  # native widgets in Chinese
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        form = context.request.get(base + "/login").text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        context.request.post(base + "/login", headers={"Origin": base}, max_redirects=0,
                             form={"username": account, "password": password, "csrf_token": token})
        page = context.new_page()
        page.add_init_script(OBSERVE)

        area(page, CITY_CODE)
        shot(page, "map_labels_bubbles")

        area(page, spots["town"][:6])
        page.locator(".pa-layer-switch label", has_text="实有人口").click()
        page.wait_for_selector("#ov-choro-box", state="visible", timeout=60000)
        page.locator(".pa-choro-switch label", has_text="按密度").click()
        page.wait_for_function("() => document.getElementById('ov-legend').textContent.includes('人/平方公里')")
        shot(page, "map_choropleth_density")

        grid = spots["grid"]
        area(page, grid, "data-code")
        box = page.locator(f".area-label-text[data-code='{grid}']").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_selector(".leaflet-popup .pa-popup-section", timeout=60000)
        shot(page, "map_grid_popup")

        page.evaluate("() => { window.__paMaps[0].closePopup(); }")
        page.locator(".pa-layer-switch label", has_text="实有人口").click()
        page.wait_for_timeout(2500)
        page.evaluate(f"() => {{ window.__paMaps[0].setView([{spots['lat']}, {spots['lon']}], 18, {{animate: false}}); }}")
        page.wait_for_timeout(1500)
        page.mouse.click(*page.evaluate(TO_SCREEN, [spots["lat"], spots["lon"]]))
        shot(page, "map_spiderfy")
        top = page.evaluate("""() => { const m = window.__paMaps[0]; let best = null;
            m.eachLayer(l => { const p = l.feature && l.feature.properties;
                if (p && p.k && l.getLatLng) { const q = m.latLngToContainerPoint(l.getLatLng());
                    if (!best || q.y > best[1]) best = [q.x, q.y]; } });
            const r = m.getContainer().getBoundingClientRect(); return [r.left + best[0], r.top + best[1]]; }""")
        page.mouse.click(*top)
        page.wait_for_selector(".leaflet-popup .pa-popup-more", timeout=60000)
        page.locator(".leaflet-popup .pa-popup-more").click()
        page.wait_for_selector(".leaflet-popup .pa-popup-section", timeout=60000)
        shot(page, "map_building_popup")

        page.goto(base + "/disputes/stats")
        page.wait_for_selector(".pa-hot-table .ag-row", timeout=120000)
        page.locator(".pa-hot").scroll_into_view_if_needed()
        page.locator(".pa-hot-table .ag-center-cols-container .ag-row[row-index='1'] [col-id='grid']").click()
        page.wait_for_timeout(1500)
        page.evaluate("() => document.querySelector('.pa-hot').scrollIntoView({block: 'end'})")
        shot(page, "hot_grids")
        context.close()
        browser.close()
    server.shutdown()
    engine = make_engine(args.db, must_exist=True)
    with engine.begin() as conn:
        conn.execute(update(Account).where(Account.username == account).values(enabled=False))
    engine.dispose()


if __name__ == "__main__":
    main()
