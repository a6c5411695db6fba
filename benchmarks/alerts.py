"""Duty ingest benchmark: sustained HTTP ingest at increasing rates with the 值班 page open in headless Chromium.

    python benchmarks/alerts.py --db data/ankang.sqlite [--rates 100,250,500,1000,1500] [--seconds 60]
        [--server granian|waitress] [--workers N] [--batch-size 50] [--batch-rates 500,1000,1500,2000,3000]

The world is copied (the copy upgraded to this code's schema); a source key is created; the console (with the
duty routes) runs as `python -m console.server` (granian unless --server waitress) in a subprocess; the simulator
(console.simulate) posts realistic events. For each rate: 2xx count, errors, p99 of the POST round trip, and
screen latency = the moment the page's feed hands a new alert to the list and map (window.__dutySeen, set in
assets/pingan_duty.js) minus the moment its POST was answered. The load comes from `console.loadgen` (asyncio,
keep-alive connections, open loop). Each rate also reports the CPU each side spent per accepted event (server =
all its processes, this client, browser = every other descendant of this process) and the load average (1, 5,
15 min) at its end, to show where the time goes and how busy the machine was. Stops at the first rate with
errors or that the server cannot keep up with.

Then the same ramp with POST /api/events/batch (`--batch-size` events per request; rates in events/s). Its
figures are reported under their own keys: `ingest_per_s` is always the one-event-per-request figure.

After the run every 2xx'd event (or 2xx'd batch item) is looked up in the database: `lost` counts the missing ones
(must be 0). LAST line, JSON: ingest_per_s (highest rate sustained with 0 errors; 0 if none was),
ingest_p99_ms and screen_latency_p95_ms at that rate, lost, acked; batch_ingest_per_s, batch_request_p99_ms,
batch_screen_latency_p95_ms, batch_size; the server set-up, cpus, load_start/load_end, and per-rate details.
Targets (single events): ≥ 1000/s, p99 ≤ 50 ms, screen ≤ 1000 ms, lost 0.

The page's own cost: browser_cores_idle (cores the browser's whole process tree spends over --idle-seconds with the
duty page open and no events, target ≤ 0.05) and browser_cores_at_500 (the same during the 500/s single-event
rate, target ≤ 0.3; None when the ramp has no 500/s step). Each rate's row carries its browser_cores.

server_cpu_ms_per_event: CPU seconds (user + system, from /proc through psutil) of the server's processes per
accepted event during the 500/s single-event rate, target ≤ 0.4. The ramp starts once the server is at rest
(`settle_s`): with several workers the first answer comes from one of them while the others are still building
their app, and that start-up CPU used to land in the first rate's figure (2 workers: 0.83 ms/event with it, 0.52
without, back to back). The server runs as `python -m console.server` deploys it: `--workers`/`--threads` default
to the server's own defaults. `--no-browser` leaves the duty page out, so
that the browser does not share the server's cores (screen figures are then None).

Then, unless --no-pg, the same single-event ramp against PostgreSQL with one and with two ingest nodes
(benchmarks/ingest_pg.py): pg_ingest_per_s_1node, pg_ingest_per_s_2nodes, pg_lost (must be 0), pg_rates.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers (sectest) live with the tests

from console_process import local_port, start_console  # noqa: E402 - a test helper: a console server process

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def start_server(db: str, port: int, threads: int, workers: int, server: str) -> subprocess.Popen:
    try:
        return start_console(db, port, "--threads", str(threads), "--workers", str(workers), "--server", server,
                             env={"PINGAN_INGEST_PER_MINUTE": "600000"},  # measure the server, not the limit
                             ready="/api/alerts/changes?cursor=0")
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def prepare_copy(db: str) -> None:
    """The copied world at this code's schema (a world built before the last migration), its WAL folded into the
    file: a migration that touched every row leaves a WAL of hundreds of MB, and the server's first commit would
    checkpoint it inside the measured window (seconds of CPU, a 1.5 s stall)."""
    from sqlalchemy import text

    from console.store import make_engine, upgrade_schema

    engine = make_engine(db)
    upgrade_schema(engine)
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    # the copy's pages are still dirty in the page cache: the server's first checkpoint fsyncs the file and would
    # write up to the whole copy in its own process, inside the measured window (0.37 against 0.52 ms per event)
    os.sync()


def settle(pid: int, cores: float = 0.05, limit: float = 120.0) -> float:
    """Seconds until the server's processes are at rest (< `cores` over one second): the first answer comes from
    one worker while others may still be building their app (loading the grid index and reference data), and
    that start-up CPU is not the ingest's."""
    t0 = time.monotonic()
    last = _cpu(pid)
    while time.monotonic() - t0 < limit:
        time.sleep(1.0)
        now = _cpu(pid)
        if now - last < cores:
            break
        last = now
    return round(time.monotonic() - t0, 1)


def _cpu(pid: int, own: bool = False, children: bool = False, server: int | None = None) -> float:
    """CPU seconds (user+sys) of a process (with its descendants unless `own`), or with `children` of its
    descendants outside the server's process tree (the browser and its helpers)."""
    import psutil

    p = psutil.Process(pid)
    if not children:
        procs = [p] if own else [p, *p.children(recursive=True)]  # the server: all its worker processes
        return sum(t.user + t.system for t in (q.cpu_times() for q in procs))
    skip = {server} | {c.pid for c in psutil.Process(server).children(recursive=True)} if server else set()
    total = 0.0
    for c in p.children(recursive=True):
        try:
            if c.pid in skip:
                continue
            t = c.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def pct(values: list[float], q: float):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def main(argv=None) -> None:
    from playwright.sync_api import sync_playwright
    from sqlalchemy import select

    from console import loadgen
    from console.duty.sources import add_source
    from console.server import default_threads, default_workers
    from console.simulate import Simulator, load_world
    from console.store import Event, make_engine, make_session_factory

    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="data/ankang.sqlite")
    ap.add_argument("--rates", default="100,250,500,1000,1500")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--connections", type=int, default=64, help="keep-alive connections of the load generator")
    ap.add_argument("--threads", type=int, default=default_threads(),
                    help="request threads per server process (default: the server's own default)")
    ap.add_argument("--workers", type=int, default=default_workers(),
                    help="server processes (console.server --workers; default: the server's own default)")
    ap.add_argument("--server", default="granian", choices=("granian", "waitress"))
    ap.add_argument("--batch-size", type=int, default=50, help="events per POST /api/events/batch (0: no batch run)")
    ap.add_argument("--batch-rates", default="500,1000,1500,2000,3000",
                    help="events/s for the batch run, after the single-event run (empty: none)")
    ap.add_argument("--idle-seconds", type=float, default=20, help="browser CPU at rest is measured this long")
    ap.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL ingest nodes (benchmarks/ingest_pg.py)")
    ap.add_argument("--pg-scale", type=float, default=0.05, help="scale of the world built in PostgreSQL")
    ap.add_argument("--pg-rates", default="250,500,750,1000,1500")
    ap.add_argument("--pg-seconds", type=float, default=15)
    ap.add_argument("--no-browser", action="store_true",
                    help="no duty page open: server CPU without a browser on the same cores (screen figures None)")
    ap.add_argument("--keep-db", action="store_true", help="keep the copied world (its folder is pingan-alerts-* in the temp folder)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="pingan-alerts-"))
    db = str(work / "bench.sqlite")
    shutil.copy(args.db, db)
    prepare_copy(db)
    sessions = make_session_factory(make_engine(db))
    with sessions() as s, s.begin():
        key = add_source(s, "bench", "基准测试")
    import sectest as testing

    testing.use_fast_hasher()  # the account's hash only; the server verifies with whatever parameters it holds
    testing.add_account(sessions, "bench_duty", ["duty_officer"], ["610900"])
    world = load_world(db)
    port = local_port()
    load_start = [round(x, 2) for x in os.getloadavg()]
    proc = start_server(db, port, args.threads, args.workers, args.server)
    settle_s = settle(proc.pid)
    url = f"http://127.0.0.1:{port}"
    results, batch_results, acked = [], [], {}

    def ramp(page, rates: str, batch: int) -> list[dict]:
        """Increasing rates until one has errors or falls short; a row per rate (printed as it finishes)."""
        rows = []
        for rate in [float(r) for r in rates.split(",")]:
            accepted: dict[int, float] = {}
            lock = threading.Lock()

            def on_result(ev, code, body, at, accepted=accepted, lock=lock):
                if code in (200, 201):
                    with lock:
                        acked[ev["event_id"]] = body.get("id")
                        for a in body.get("alerts", []):
                            accepted[a] = at * 1000

            sim = Simulator(world, seed=int(rate) + (7919 if batch else 0))
            before = _cpu(proc.pid), _cpu(os.getpid(), own=True), _cpu(os.getpid(), children=True, server=proc.pid)
            t_run = time.monotonic()
            stats = loadgen.run(url, key, sim.next_event, rate, args.seconds, args.connections, on_result=on_result,
                                batch=batch)
            after = _cpu(proc.pid), _cpu(os.getpid(), own=True), _cpu(os.getpid(), children=True, server=proc.pid)
            stats["browser_cores"] = round((after[2] - before[2]) / max(1e-6, time.monotonic() - t_run), 3)
            n = max(1, stats["ok"])
            stats["cpu_ms_per_event"] = {side: round((b - a) * 1000 / n, 3) for side, a, b in
                                         zip(("server", "client", "browser"), before, after)}
            stats["load"] = [round(x, 2) for x in os.getloadavg()]  # 1, 5, 15 min, at the end of this rate
            seen = {}
            if page is not None:
                page.wait_for_timeout(2000)  # let the last alerts reach the screen
                seen = page.evaluate("window.__dutySeen || {}")
            lat = [seen[str(a)] - t for a, t in accepted.items() if str(a) in seen]
            row = {"rate": rate, **stats, "alerts": len(accepted), "alerts_seen": len(lat),
                   "screen_p95_ms": pct(lat, 0.95)}
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            if stats["errors"] or stats["per_s"] < rate * 0.95:  # errors, or the server cannot keep up
                break
        return rows
    idle_cores = None
    try:
        if args.no_browser:
            results = ramp(None, args.rates, 0)
            if args.batch_size > 0 and args.batch_rates:
                batch_results = ramp(None, args.batch_rates, args.batch_size)
        else:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = duty_page(browser, url, testing.STRONG)
                idle_cores = browser_cores(os.getpid(), proc.pid, args.idle_seconds)
                print(f"browser at rest: {idle_cores:.3f} cores", flush=True)
                results = ramp(page, args.rates, 0)
                if args.batch_size > 0 and args.batch_rates:
                    batch_results = ramp(page, args.batch_rates, args.batch_size)
                page.screenshot(path=str(ROOT / "docs" / "screenshots" / "duty_benchmark.png"))
                browser.close()
    finally:
        proc.kill()
        proc.wait()
    with sessions() as s:
        stored = set(s.scalars(select(Event.source_event_id).where(Event.source == "bench")))
    lost = sum(1 for eid in acked if eid not in stored)
    sessions.kw["bind"].dispose()
    if not args.keep_db:
        shutil.rmtree(work, ignore_errors=True)  # a copy of the world per run (1.8 GB at full scale)
    single, batch = best(results), best(batch_results)
    at_500 = next((r for r in results if r["rate"] == 500), None)
    out = {"server_cpu_ms_per_event": at_500["cpu_ms_per_event"]["server"] if at_500 else None,
           "browser_cores_idle": idle_cores, "browser_cores_at_500": at_500["browser_cores"] if at_500 else None,
           "ingest_per_s": single["per_s"], "ingest_p99_ms": single["p99_ms"],
           "screen_latency_p95_ms": single["screen_p95_ms"], "lost": lost, "acked": len(acked)}
    if batch_results:  # POST /api/events/batch: separate figures, never folded into the single-event ones
        out.update({"batch_size": args.batch_size, "batch_ingest_per_s": batch["per_s"],
                    "batch_request_p99_ms": batch["p99_ms"], "batch_screen_latency_p95_ms": batch["screen_p95_ms"]})
    out.update({"server": args.server, "workers": args.workers, "threads": args.threads, "cpus": os.cpu_count(),
                "settle_s": settle_s,
                "load_start": load_start, "load_end": [round(x, 2) for x in os.getloadavg()],
                "browser": not args.no_browser, "seconds_per_rate": args.seconds, "rates": results,
                "batch_rates": batch_results})
    if not args.no_pg:  # after the SQLite server is gone: the PostgreSQL nodes get the cores
        from ingest_pg import run_pg

        out.update(run_pg(args.pg_scale, args.pg_rates, args.pg_seconds, args.threads))
        out["load_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, ensure_ascii=False))


def duty_page(browser, url: str, password: str):
    """The 值班 page open as the benchmark's 值班员, drawn and at rest."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(url + "/login")  # the console is behind the security gate
    page.fill("#u", "bench_duty")
    page.fill("#p", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(url + "/duty")
    page.wait_for_selector("#duty-count:has-text('未办结')", timeout=60000)
    page.wait_for_timeout(3000)  # the first draw is done; now the page rests
    return page


def browser_cores(me: int, server: int, seconds: float) -> float:
    """Cores the browser (every descendant of this process outside the server) spends over `seconds`."""
    c0, t0 = _cpu(me, children=True, server=server), time.monotonic()
    time.sleep(seconds)
    return round((_cpu(me, children=True, server=server) - c0) / (time.monotonic() - t0), 3)


def best(rows: list[dict]) -> dict:
    """The highest rate sustained with 0 errors (≥ 95 % of the asked rate); zeros when none was."""
    good = [r for r in rows if not r["errors"] and r["per_s"] >= r["rate"] * 0.95]
    if not good:
        return {"per_s": 0.0, "p99_ms": None, "screen_p95_ms": None}
    return max(good, key=lambda r: r["per_s"])


if __name__ == "__main__":
    main()
