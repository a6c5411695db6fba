"""Take the README screenshots: overview, a town, a grid — normal and big-screen theme.

    python docs/screenshots/make_screenshots.py --db data/ankang.sqlite [--town 610924100]
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

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pick(db: str, town: str | None) -> tuple[str, str]:
    con = sqlite3.connect(db)
    if not town:
        town = con.execute("select town_code from grid g join area a on a.code = g.village_code "
                           "join person p on p.grid_code = g.code where g.generation_high is null "
                           "and a.parent_code like '610924%' group by town_code order by count(*) desc limit 1"
                           ).fetchone()
        town = town[0] if town else con.execute("select code from area where level='town' limit 1").fetchone()[0]
    grid = con.execute("select grid_code from person where town_code=? group by grid_code order by count(*) desc "
                       "limit 1", (town,)).fetchone()[0]
    return town, grid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="data/ankang.sqlite")
    ap.add_argument("--town")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings

    from sqlalchemy import update

    from console.store import make_engine
    from console.store.codes import CITY_CODE
    from console.store.security_models import Account
    from tests.security_login import add_account

    town, grid = pick(args.db, args.town)
    # A throwaway 县区-role account, city-wide (the console is behind its login); disabled afterwards.
    account, password = f"shots-{secrets.token_hex(4)}", "Sh!" + secrets.token_urlsafe(18)
    add_account(args.db, account, roles=("county",), scope=(CITY_CODE,), password=password)
    app = create_app(args.db, settings=Settings(warm_cache=True))
    from console.services.context import CONTEXT_KEY

    app.server.config[CONTEXT_KEY].warm_done.wait(600)  # the city's counts, as a running console has them
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    shots = [("overview", "/", None), ("town", f"/?area={town}", None), ("grid", f"/?area={grid}", "人员")]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS,
                                    env={**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN:zh"})  # native widgets in Chinese
        for theme, size in (("light", (1920, 1080)), ("dark", (1920, 1080)), ("dark-4k", (3840, 2160))):
            context = browser.new_context(viewport={"width": size[0], "height": size[1]})
            form = context.request.get(base + "/login").text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            context.request.post(base + "/login", headers={"Origin": base}, max_redirects=0,
                                 form={"username": account, "password": password, "csrf_token": token})
            page = context.new_page()
            for name, url, tab in shots:
                if theme == "dark-4k" and name != "overview":
                    continue
                page.goto(base + url)
                page.wait_for_selector(".pa-theme-switch", timeout=120000)
                if theme.startswith("dark") and not page.locator(".pa-dark").count():
                    page.locator(".pa-theme-switch label").click()
                    page.wait_for_selector(".pa-dark")
                page.wait_for_function("c => (document.getElementById('kpi-area') || {}).textContent === c",
                                       arg=url.split("=")[-1] if "=" in url else "610900", timeout=60000)
                if tab:
                    page.locator(".pa-tabs").get_by_text(tab).click()
                    page.wait_for_selector(".ag-row", timeout=20000)
                page.wait_for_timeout(2500)
                out = HERE / f"{name}-{theme}.png"
                page.screenshot(path=str(out), full_page=bool(tab))
                print(out)
            context.close()
        browser.close()
    server.shutdown()
    engine = make_engine(args.db, must_exist=True)
    with engine.begin() as conn:
        conn.execute(update(Account).where(Account.username == account).values(enabled=False))
    engine.dispose()


if __name__ == "__main__":
    main()
