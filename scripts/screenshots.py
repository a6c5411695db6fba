"""Screenshots of every page at 1920×1080 and 3840×2160 into docs/screenshots/pages/ (what each role sees).

    python scripts/screenshots.py --db data/ankang.sqlite [--only hall,replay] [--sizes 1920,3840]

The world is copied first (throwaway accounts go into the copy; --db is never changed). Each page is opened as a
role that may see it (the wall pages as the 大屏展示 account, in the big-screen theme), allowed to settle, then
captured: `<page>-1920.png` and `<page>-3840.jpg` (JPEG keeps the 4K files small enough for the repository).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import sqlite3
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "tests"))  # the test helpers (sectest) live with the tests
OUT = ROOT / "docs" / "screenshots" / "pages"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SIZES = {"1920": (1920, 1080), "3840": (3840, 2160)}


def _pick(db: str) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    grid = con.execute("select grid_code from person where grid_code is not null group by grid_code"
                       " order by count(*) desc limit 1").fetchone()[0]
    con.close()
    return {"town": grid[:9], "grid": grid}


def shots(ref: dict) -> list[tuple[str, str, str, bool]]:
    """(name, path, role, dark theme) — every page, each as a role that may open it."""
    return [
        ("login", "/login", "", False),
        ("overview", "/", "county", False),
        ("overview-town", f"/?area={ref['town']}", "county", False),
        ("overview-grid", f"/?area={ref['grid']}", "county", False),
        ("overview-wall", "/", "wall_display", True),
        ("hall", "/hall", "wall_display", True),
        ("analysis", "/analysis", "duty_officer", False),
        ("replay", "/replay", "duty_officer", False),
        ("duty", "/duty", "duty_officer", False),
        ("video", "/video", "duty_officer", False),
        ("disputes", "/disputes", "dispute_handler", False),
        ("disputes-stats", "/disputes/stats", "dispute_handler", False),
        ("housing", "/housing", "county", False),
        ("quality", "/quality", "county", False),
        ("followup", f"/followup?area={ref['grid'][:12]}", "county", False),
        ("assessment", "/assessment", "city_leader", False),
        ("incident", "/incident", "duty_officer", False),
        ("import", "/import", "county", False),
        ("planner", "/planner", "grid_planner", False),
        ("admin-accounts", "/admin/accounts", "system_admin", False),
        ("admin-audit", "/admin/audit", "audit_admin", False),
        ("admin-assessment", "/admin/assessment", "system_admin", False),
    ]


def _login(context, base: str, user: str, password: str, totp: str | None) -> None:
    form = context.request.get(base + "/login").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    context.request.post(base + "/login", form={"username": user, "password": password, "csrf_token": token},
                         headers={"Origin": base}, max_redirects=0)
    if totp:  # the 三员 log in with a second factor
        import pyotp

        form = context.request.get(base + "/login/totp").text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        context.request.post(base + "/login/totp", form={"code": pyotp.TOTP(totp).now(), "csrf_token": token},
                             headers={"Origin": base}, max_redirects=0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "ankang.sqlite"))
    ap.add_argument("--only", default="", help="comma-separated page names")
    ap.add_argument("--sizes", default="1920,3840")
    args = ap.parse_args()

    import pyotp
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings
    from console.store.codes import CITY_CODE
    from tests.security_login import add_account

    work = Path(tempfile.mkdtemp(prefix="pingan-shots-"))
    db = str(work / "world.sqlite")
    shutil.copy(args.db, db)
    ref = _pick(db)
    password = "Sh!" + secrets.token_urlsafe(18)
    wanted = [s for s in shots(ref) if not args.only or s[0] in args.only.split(",")]
    accounts = {}
    for role in {s[2] for s in wanted if s[2]}:
        admin = role.endswith("_admin")
        secret = pyotp.random_base32() if admin else None
        name = f"shots-{role[:8]}-{secrets.token_hex(3)}"
        add_account(db, name, roles=(role,), scope=() if admin else (CITY_CODE,), password=password,
                    **({"totp_secret": secret} if secret else {}))
        accounts[role] = (name, secret)
    app = create_app(db, settings=Settings(warm_cache=True))
    from console.services.context import CONTEXT_KEY

    app.server.config[CONTEXT_KEY].warm_done.wait(600)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS,
                                    env={**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN:zh"})  # native widgets in Chinese
        for size in args.sizes.split(","):
            w, h = SIZES[size]
            for name, path, role, dark in wanted:
                context = browser.new_context(viewport={"width": w, "height": h}, locale="zh-CN")
                if role:
                    _login(context, base, accounts[role][0], password, accounts[role][1])
                page = context.new_page()
                page.goto(base + path)
                try:
                    page.wait_for_load_state("networkidle", timeout=30000)
                except Exception:  # pages that poll never go idle
                    pass
                if dark and page.locator(".pa-theme-switch").count() and not page.locator(".pa-dark").count():
                    page.locator(".pa-theme-switch label").click()
                page.wait_for_timeout(2500)
                out = OUT / (f"{name}-{size}.png" if size == "1920" else f"{name}-{size}.jpg")
                page.screenshot(path=str(out), **({} if size == "1920" else {"type": "jpeg", "quality": 70}))
                print(out.relative_to(ROOT), flush=True)
                context.close()
        browser.close()
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
