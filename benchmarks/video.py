"""Video benchmark (docs/video.md): click to first decoded frame, one stream and a 9-window wall, over a real
local media path; the nearest cameras to an alert among 38,000.

    python benchmarks/video.py [--db data/ankang.sqlite] [--runs 15] [--walls 5] [--cameras 38000]

The media path is the tests' (tests/media_server.py): ffmpeg encodes an H.264 test picture to HLS with 1-second
segments, nginx serves it on 127.0.0.1, the console's gateway template points at it, headless Chromium plays it
on the wall page as a logged-in 值班员. "First frame" is measured in the page from the moment a window asks for its
play ticket to the first decoded frame (getVideoPlaybackQuality().totalVideoFrames > 0): ticket, redirect,
playlist, first segment, decode.

`--db` is copied (never changed) and supplies the world; without it the tiny test world is built. The nearest-
camera figure uses the world's cameras when it has `--cameras` of them, else that many synthetic cameras over
Ankang's extent; it times the vectorised search with the viewer's scope mask, as the route runs it.
LAST line, JSON: first_frame_p95_ms (target ≤ 1,500), wall9_first_frame_p95_ms (≤ 2,500), nearest_cameras_ms
(p95, ≤ 50), coverage_s when measured, and the run's details.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers live with the tests

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def p95(values: list[float]) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))], 1) if values else -1.0


def nearest_ms(db: str, n_cameras: int, queries: int = 200) -> dict:
    import numpy as np

    from console.security.guard import Viewer
    from console.store import make_engine, make_session_factory
    from console.store.codes import CITY_CODE
    from console.video import nearest, service

    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        index = service.CameraIndex.load(s)
    engine.dispose()
    source = "world"
    if index.ids.size < n_cameras:  # synthetic cameras over Ankang's extent, county codes for the scope mask
        rng = np.random.default_rng(7)
        counties = np.array(["610902", "610921", "610922", "610923", "610924", "610925", "610926", "610927",
                             "610928", "610929"])
        index = service.CameraIndex(
            ids=np.arange(n_cameras), lons=rng.uniform(108.0, 110.2, n_cameras), lats=rng.uniform(31.7, 33.8, n_cameras),
            directions=rng.uniform(0, 360, n_cameras), fovs=rng.choice([60.0, 360.0, 90.0], n_cameras),
            online=rng.random(n_cameras) > 0.1,
            codes=np.array([c + f"{rng.integers(100, 999)}{rng.integers(100, 999)}" for c in
                            rng.choice(counties, n_cameras)]))
        source = "synthetic"
    viewers = [Viewer.build("bench", ["duty_officer"], [CITY_CODE]), Viewer.build("bench2", ["town"], ["610924"])]
    rng = np.random.default_rng(1)
    cold = []
    for viewer in viewers:  # the first query of a scope builds its mask (once per index refresh, 30 s)
        t = time.perf_counter()
        index.in_scope(viewer)
        cold.append((time.perf_counter() - t) * 1000)
    times = []
    for q in range(queries):
        viewer = viewers[q % 2]
        lon, lat = rng.uniform(108.5, 109.8), rng.uniform(32.2, 33.3)
        t = time.perf_counter()
        nearest.nearest(lon, lat, index.lons, index.lats, index.directions, index.fovs,
                        index.online & index.in_scope(viewer), 9)
        times.append((time.perf_counter() - t) * 1000)
    return {"nearest_cameras_ms": p95(times), "nearest_cameras_median_ms": round(statistics.median(times), 2),
            "scope_mask_first_ms": round(max(cold), 1),
            "nearest_cameras_n": int(index.ids.size), "nearest_cameras_source": source}


def coverage_s(db: str, n_cameras: int, n_buildings: int = 300_000, n_grids: int = 5_000) -> dict:
    """Per-grid household coverage for the whole city: the world's cameras and buildings when it has
    `n_cameras` cameras, else synthetic ones over Ankang's towns (clustered, as people and cameras are)."""
    import numpy as np
    from sqlalchemy import func, select

    from console.store import Camera, Household, make_engine, make_session_factory
    from console.store.safety_models import KeyPlace
    from console.video import coverage_service

    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        cams = s.execute(select(Camera.lon, Camera.lat, Camera.direction, Camera.kind)
                         .where(Camera.status == "online", Camera.lon.is_not(None))).all()
        if len(cams) >= n_cameras * 0.8:
            h = s.execute(select(func.min(Household.lon), func.min(Household.lat), func.min(Household.grid_code),
                                 func.count()).where(Household.lon.is_not(None))
                          .group_by(Household.building_id)).all()
            kp = s.execute(select(KeyPlace.lon, KeyPlace.lat, KeyPlace.risk_level, KeyPlace.grid_code)
                           .where(KeyPlace.lon.is_not(None))).all()
        else:
            h = None
    engine.dispose()
    if h is not None:
        args = (np.array([c[0] for c in cams]), np.array([c[1] for c in cams]),
                np.array([c[2] or 0 for c in cams], float), np.array([c[3] for c in cams], dtype=object),
                np.array([r[0] for r in h]), np.array([r[1] for r in h]), np.array([r[3] for r in h], float),
                np.array([r[2] for r in h], dtype=str))
        places = (np.array([r[0] for r in kp]), np.array([r[1] for r in kp]), np.array([r[2] for r in kp]),
                  np.array([r[3] or "" for r in kp], dtype=str))
        source = "world"
    else:
        rng = np.random.default_rng(3)
        centres = np.column_stack([rng.uniform(108.3, 109.9, n_grids), rng.uniform(32.0, 33.5, n_grids)])
        cg = rng.integers(0, n_grids, n_cameras)
        bg = rng.integers(0, n_grids, n_buildings)
        jitter = 0.004  # ≈ 400 m around the grid's centre
        args = (centres[cg, 0] + rng.normal(0, jitter, n_cameras), centres[cg, 1] + rng.normal(0, jitter, n_cameras),
                rng.uniform(0, 360, n_cameras), rng.choice(["bullet", "dome", "hemisphere", "face", "vehicle"],
                                                           n_cameras).astype(object),
                centres[bg, 0] + rng.normal(0, jitter, n_buildings), centres[bg, 1] + rng.normal(0, jitter, n_buildings),
                rng.integers(1, 12, n_buildings).astype(float), np.array([f"G{g:05d}" for g in bg]))
        pg = rng.integers(0, n_grids, 2240)  # the full world's number of key places, risk-weighted in the ranking
        places = (centres[pg, 0] + rng.normal(0, jitter, pg.size), centres[pg, 1] + rng.normal(0, jitter, pg.size),
                  rng.choice(["high", "medium", "low"], pg.size), np.array([f"G{g:05d}" for g in pg]))
        source = "synthetic"
    t = time.perf_counter()
    result = coverage_service.compute(*args, places=places)
    result.gaps(40)  # the ranking the layer draws
    took = time.perf_counter() - t
    share = float(result.covered.sum() / max(1, result.households.sum()))
    print(f"coverage ({source}): {args[0].size} cameras, {args[4].size} buildings, {result.grid_codes.size} grids: "
          f"{took:.2f} s, households covered {share:.1%}")
    return {"coverage_s": round(took, 2), "coverage_source": source, "coverage_cameras": int(args[0].size),
            "coverage_buildings": int(args[4].size), "coverage_grids": int(result.grid_codes.size),
            "coverage_households_share": round(share, 3), "coverage_key_places": int(places[0].size)}


def browser_runs(db: str, media: str, runs: int, walls: int) -> dict:
    from playwright.sync_api import sync_playwright
    from sqlalchemy import select
    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings
    from console.store import Camera, make_engine, make_session_factory
    from console.store.codes import CITY_CODE
    from console.video.gateway import VideoSettings
    from tests.security_login import add_account, login_page, security_settings

    engine = make_engine(db, must_exist=True)
    with make_session_factory(engine)() as s:
        ids = list(s.scalars(select(Camera.id).where(Camera.status == "online").order_by(Camera.id).limit(64)))
    engine.dispose()
    add_account(db, "bench_video", roles=("duty_officer",), scope=(CITY_CODE,))
    video = VideoSettings.from_env({"PINGAN_VIDEO_GATEWAY": "template",
                                    "PINGAN_VIDEO_HLS": media + "/live/{device_id}/index.m3u8"})
    app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings(),
                     video_settings=video)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    one, nine = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            login_page(page, url, "bench_video")
            page.goto(url + "/video")
            page.wait_for_selector("#video-wall[data-ready='1'] .pa-video-window")
            page.evaluate("window.pingan.lazy.loadScript('assets/vendor/hls.min.js')")  # as after a first stream
            page.wait_for_function("() => !!window.Hls")
            first = """(n) => new Promise((res, rej) => { const t0 = performance.now();
                const tick = () => { const ws = window.pingan.video.state().windows.slice(0, n);
                    if (ws.every(w => w.firstFrameMs !== null && w.firstFrameMs !== undefined))
                        return res(ws.map(w => w.firstFrameMs));
                    if (ws.some(w => w.status === 'error')) return rej(new Error(JSON.stringify(ws)));
                    if (performance.now() - t0 > 20000) return rej(new Error('timeout'));
                    setTimeout(tick, 10); }; tick(); })"""
            page.evaluate("window.pingan.video.setLayout(1)")
            for r in range(runs):
                cam = ids[r % len(ids)]
                page.evaluate(f"window.pingan.video.fill([{{id: {cam}, name: 'c{cam}'}}])")
                one.append(page.evaluate(first, 1)[0])
                page.evaluate("window.pingan.video.fill([])")
                page.wait_for_timeout(200)
            page.evaluate("window.pingan.video.setLayout(9)")
            for r in range(walls):
                cams = [{"id": ids[(r * 9 + i) % len(ids)], "name": f"c{i}"} for i in range(9)]
                page.evaluate(f"window.pingan.video.fill({json.dumps(cams)})")
                nine.append(max(page.evaluate(first, 9)))
                page.evaluate("window.pingan.video.fill([])")
                page.wait_for_timeout(300)
            browser.close()
    finally:
        server.shutdown()
    print(f"one stream, click to first frame (ms): {[round(x) for x in one]}")
    print(f"9-window wall, last window's first frame (ms): {[round(x) for x in nine]}")
    return {"first_frame_p95_ms": p95(one), "first_frame_median_ms": round(statistics.median(one), 1),
            "wall9_first_frame_p95_ms": p95(nine), "runs": runs, "walls": walls}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="a world to copy (default: the tiny test world)")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--walls", type=int, default=5)
    ap.add_argument("--cameras", type=int, default=38_000)
    args = ap.parse_args()
    import logging
    import os

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would drown the figures

    from media_server import ensure_tools, media_server

    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="pingan-video-bench-") as tmp:
        work = Path(tmp)
        db = str(work / "world.sqlite")
        if args.db:
            shutil.copy(args.db, db)
        else:
            from browser.tinyworld import build

            build(db)
        out.update(nearest_ms(db, args.cameras))
        print(f"nearest cameras ({out['nearest_cameras_source']}, {out['nearest_cameras_n']}): "
              f"p95 {out['nearest_cameras_ms']} ms")
        out.update(coverage_s(db, args.cameras))
        why = ensure_tools()
        if why:
            print(f"no media path: {why}")
            out.update(first_frame_p95_ms=None, wall9_first_frame_p95_ms=None, skipped=why)
        else:
            with media_server(work, seconds=60) as media:
                out.update(browser_runs(db, media, args.runs, args.walls))
    out["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out["cpus"] = os.cpu_count()
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
