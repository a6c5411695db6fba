"""Console benchmark: serve the world, drive headless Chromium city → county → town → village → grid and back.

    python benchmarks/console.py [--db data/ankang.sqlite] [--paths 3]

Prints progress lines, then as its LAST line one JSON object:
first_view_ms (navigation to map and KPIs drawn), drilldown_p95_ms (click to children and KPIs drawn),
server_p95_ms (server time of the requests a drill step makes), max_view_bytes (largest transfer for one view,
all requests, as sent on the wire), requests_off_host (must be 0), and details.
deeplink_extent_ok (share of 20 deep links of mixed levels whose first drawn frame shows the area's whole extent
with the map filling its pane) and latin_words_visible (Latin words shown on any page of the business roles outside
benchmarks/ui_checks.py's allow list; the words found are listed under latin_words).
Targets: first_view_ms ≤ 2000, drilldown_p95_ms ≤ 300 (server ≤ 150), max_view_bytes ≤ 1,000,000,
deeplink_extent_ok = 1.0, latin_words_visible = 0. The world is copied first; --db is never changed.
"""

from __future__ import annotations

import argparse
import re
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "benchmarks"))  # ui_checks; after ROOT, so `console` stays the package
sys.path.append(str(ROOT / "tests"))  # the test helpers (sectest) live with the tests

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEW_DRAWN = """([code, parent]) => {
    const k = document.getElementById('kpi-area');
    if (!k || k.textContent !== code) { return false; }
    return document.querySelectorAll(`.area-label-text[data-parent='${parent}']`).length > 0;
}"""
CLICKABLE_LABELS = """p => {
    const out = [];
    for (const el of document.querySelectorAll(`.area-label-text[data-parent='${p}']`)) {
        const r = el.getBoundingClientRect();
        const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
        for (const [dx, dy] of [[0, 0], [0, -14], [0, 14], [-20, 0], [20, 0], [-14, -14], [14, 14]]) {
            const hit = document.elementFromPoint(cx + dx, cy + dy);
            const bubble = hit && hit.closest && hit.closest('.pa-bubble');
            if (hit && (hit.tagName === 'CANVAS' || (bubble && bubble.dataset.code === el.dataset.code))) {
                out.push([cx + dx, cy + dy, el.dataset.code]);
                break;
            }
        }
    }
    return out;
}"""


class Timing:
    """WSGI middleware recording each request's server time."""

    def __init__(self, app):
        self.app, self.records, self.lock = app, [], threading.Lock()

    def __call__(self, environ, start_response):
        t0 = time.perf_counter()
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.records.append((t0, (time.perf_counter() - t0) * 1000, environ.get("PATH_INFO", "")))


def p95(values):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))], 1)


class Wire:
    """Bytes on the wire per view, from the DevTools protocol (encodedDataLength, compressed as sent)."""

    def __init__(self, page):
        self.bytes = 0
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.on("Network.loadingFinished", self._done)

    def _done(self, event):
        self.bytes += int(event.get("encodedDataLength") or 0)

    def take(self) -> int:
        n, self.bytes = self.bytes, 0
        return n


def parent_of_view(code: str) -> str:
    """The data-parent of the labels drawn when `code` is shown (a grid shows its village's grids)."""
    return code[:12] if len(code) == 15 else code


CLICK_CRUMB = """c => { for (const b of document.querySelectorAll('button.pa-crumb')) {
    if (b.id && b.id.indexOf('"code":"' + c + '"') >= 0) { b.click(); return true; } } return false; }"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "ankang.sqlite"))
    ap.add_argument("--paths", type=int, default=3, help="drill-down paths (different branches) to walk")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--skip-ui", action="store_true", help="only the timing figures (no deep links, no Latin words)")
    args = ap.parse_args()
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="pingan-console-"))
    shutil.copy(args.db, work / "world.sqlite")  # accounts are added to a copy: --db stays as it was
    source_db, args.db = args.db, str(work / "world.sqlite")

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings
    from console.store.codes import CITY_CODE

    import secrets

    from tests.security_login import add_account

    account, password = f"bench-{secrets.token_hex(4)}", "Bm!" + secrets.token_urlsafe(18)
    add_account(args.db, account, roles=("county",), scope=(CITY_CODE,), password=password)

    t0 = time.perf_counter()
    app = create_app(args.db, settings=Settings.from_env(warm_cache=True))
    from console.services.context import CONTEXT_KEY

    app.server.config[CONTEXT_KEY].warm_done.wait(600)  # start-up: the city-wide counts are built once
    warm_ms = (time.perf_counter() - t0) * 1000
    timing = Timing(app.server.wsgi_app)
    app.server.wsgi_app = timing
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    print(f"server ready in {warm_ms:.0f} ms at {base}", flush=True)
    time.sleep(0.5)

    off_host: list[str] = []
    views: list[dict] = []
    steps: list[float] = []
    server_ms: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": args.width, "height": args.height})
        page = context.new_page()
        page.on("request", lambda r: off_host.append(r.url)
                if urlparse(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith("data:") else None)
        wire = Wire(page)
        # Log in over HTTP only (cookie into the context, no page assets cached), so the first view is cold.
        form = context.request.get(base + "/login").text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        context.request.post(base + "/login", form={"username": account, "password": password, "csrf_token": token},
                             headers={"Origin": base}, max_redirects=0)
        wire.take()

        start = time.perf_counter()
        page.goto(base + "/")
        page.wait_for_function(VIEW_DRAWN, arg=[CITY_CODE, CITY_CODE], timeout=60000, polling=16)
        first_view = (time.perf_counter() - start) * 1000
        page.wait_for_timeout(500)
        views.append({"view": "first", "ms": round(first_view), "bytes": wire.take()})
        print(f"first view {first_view:.0f} ms", flush=True)

        def settle(parent):
            prev = None
            for _ in range(40):
                spots = page.evaluate(CLICKABLE_LABELS, parent)
                if spots and spots == prev:
                    return spots
                prev = spots
                page.wait_for_timeout(100)
            return prev or []

        def step(code_from_click, click):
            wire.take()
            mark = time.perf_counter()
            click()
            page.wait_for_function(VIEW_DRAWN, arg=[code_from_click, parent_of_view(code_from_click)],
                                   timeout=30000, polling=16)
            ms = (time.perf_counter() - mark) * 1000
            page.wait_for_timeout(400)  # let late layer downloads land before counting bytes
            with timing.lock:
                server_ms.extend(d for t, d, _ in timing.records if t >= mark)
            views.append({"view": code_from_click, "ms": round(ms), "bytes": wire.take()})
            steps.append(ms)
            print(f"  {code_from_click:<15} {ms:6.0f} ms {views[-1]['bytes']:>9} B", flush=True)

        for path in range(args.paths):
            trail = [CITY_CODE]
            while len(trail[-1]) < 15:
                spots = settle(trail[-1])
                if not spots:
                    break
                x, y, code = spots[min(path, len(spots) - 1)]
                step(code, lambda x=x, y=y: page.mouse.click(x, y))
                trail.append(code)
            for up in reversed(trail[:-1]):  # back up through the breadcrumb
                step(up, lambda up=up: page.evaluate(CLICK_CRUMB, up))
        ui = {} if args.skip_ui else ui_figures(browser, base, args, password)
        browser.close()
    server.shutdown()

    result = {
        "first_view_ms": round(first_view),
        "drilldown_p95_ms": p95(steps),
        "drilldown_median_ms": round(statistics.median(steps), 1) if steps else None,
        "server_p95_ms": p95(server_ms),
        "max_view_bytes": max(v["bytes"] for v in views),
        "first_view_bytes": views[0]["bytes"],
        "max_step_bytes": max((v["bytes"] for v in views[1:]), default=0),
        "requests_off_host": len(off_host),
        "steps": len(steps),
        "server_ready_ms": round(warm_ms),
        **ui,
        "db": source_db,
    }
    if off_host:
        print("off-host requests:", off_host[:10], flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def ui_figures(browser, base: str, args, password: str) -> dict:
    """deeplink_extent_ok and latin_words_visible (benchmarks/ui_checks.py), each role in its own context."""
    import secrets

    import ui_checks as ui  # benchmarks/ui_checks.py, beside this script
    from console.store.codes import CITY_CODE
    from tests.security_login import add_account

    accounts = {}
    for role in ui.LATIN_ROLES:
        name = f"bench-{role[:6]}-{secrets.token_hex(3)}"
        add_account(args.db, name, roles=(role,), scope=(CITY_CODE,), password=password)
        accounts[role] = name
    context = browser.new_context(viewport={"width": args.width, "height": args.height})
    ui.login(context, base, accounts["county"], password)
    share, links = ui.deeplink_extent(context, base, args.db, ui.mixed_links(args.db))
    context.close()
    bad = [d for d in links if not d["ok"]]
    print(f"deep links: {share:.2f} of {len(links)} show their area in a full pane", flush=True)
    for d in bad:
        print(f"  {d['area']}: {d['why']}", flush=True)
    found: dict[str, list[str]] = {}
    for role, name in accounts.items():
        context = browser.new_context(viewport={"width": args.width, "height": args.height})
        ui.login(context, base, name, password)
        page = context.new_page()
        for href in ui.pages_for(role, CITY_CODE):
            words = ui.page_latin(page, base + href)
            if words:
                found[f"{role} {href}"] = sorted(set(words))[:20]
                print(f"  Latin on {href} ({role}): {sorted(set(words))[:10]}", flush=True)
        context.close()
    login_page = browser.new_context()
    found_login = ui.page_latin(login_page.new_page(), base + "/login", 200)
    login_page.close()
    if found_login:
        found["/login"] = sorted(set(found_login))
    total = sum(len(v) for v in found.values())
    print(f"latin words visible: {total}", flush=True)
    return {"deeplink_extent_ok": round(share, 3), "deeplinks_failed": bad, "latin_words_visible": total,
            "latin_words": found}


if __name__ == "__main__":
    raise SystemExit(main())
