"""数据质量 page benchmark: on a copy of a world, the one-off check of identity numbers written without their flag,
the refresh of the stored cube (what the server does in the background after an import and at start-up), the
old full scan for comparison, then a fresh console (cold caches) renders /quality at city level for a 市领导.
Prints figures; the last line is one JSON object.

    python benchmarks/quality.py --db data/ankang.sqlite

Target (docs/import.md, 数据质量): quality_page_ms ≤ 1,000 at full scale. benchmarks/import_ledgers.py calls
`quality_page_ms` on its own copy after its imports and adds the key to its last line."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers log a Flask client in (tests/security_login.py)


def quality_page_ms(db: str, *, repeat: int = 3) -> dict:
    """On `db` (a copy: it is upgraded and written): {"quality_page_ms": cold city-level page, …}."""
    from console.app import create_app
    from console.config import Settings
    from console.services import quality, quality_store
    from console.store import make_engine, make_session_factory, upgrade_schema
    from tests.security_login import ORIGIN, add_account, login_client, security_settings

    engine = make_engine(db, must_exist=True)
    upgrade_schema(engine)
    sessions = make_session_factory(engine)
    t = time.perf_counter()
    verified = quality_store.verify_ids(sessions)
    verify_s = time.perf_counter() - t
    t = time.perf_counter()
    quality_store.refresh(sessions)
    refresh_s = time.perf_counter() - t
    t = time.perf_counter()
    with sessions() as s:
        quality.build_cube(s)
    scan_ms = (time.perf_counter() - t) * 1000
    add_account(sessions, "bench_leader", ["city_leader"], ["610900"])
    engine.dispose()
    times = []
    for _ in range(repeat):  # each a new console: nothing cached in memory
        app = create_app(db, settings=Settings(warm_cache=False), security_settings=security_settings())
        client = app.server.test_client()
        csrf = login_client(client, "bench_leader")
        body = {"output": ".._pages_content.children..._pages_store.data..",
                "outputs": [{"id": "_pages_content", "property": "children"},
                            {"id": "_pages_store", "property": "data"}],
                "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/quality"},
                           {"id": "_pages_location", "property": "search", "value": ""}],
                "state": [], "changedPropIds": ["_pages_location.pathname"]}
        t = time.perf_counter()
        r = client.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
        times.append((time.perf_counter() - t) * 1000)
        text = r.get_data(as_text=True)
        if r.status_code != 200 or "身份证号校验位错误" not in text:
            raise SystemExit(f"/quality did not render: {r.status_code} {text[:300]}")
    # the first console of the process is the coldest (page modules' first render too): that is the figure
    return {"quality_page_ms": round(times[0]), "quality_page_ms_next": round(min(times[1:] or times)),
            "quality_refresh_s": round(refresh_s, 2), "quality_scan_ms": round(scan_ms),
            "quality_verify_s": round(verify_s, 2), "quality_verified": verified}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="a world (copied first, never written)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pingan-quality-bench-"))
    try:
        db = work / "w.sqlite"
        shutil.copy(args.db, db)
        figures = quality_page_ms(str(db))
        print(f"identity numbers checked once: {figures['quality_verified']} in {figures['quality_verify_s']} s; "
              f"stored cube refreshed in {figures['quality_refresh_s']} s (scan alone {figures['quality_scan_ms']} ms)")
        print(f"cold /quality at city level: {figures['quality_page_ms']} ms (a further new console: "
              f"{figures['quality_page_ms_next']} ms)")
        print(json.dumps({**figures, "load": os.getloadavg()[0]}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
