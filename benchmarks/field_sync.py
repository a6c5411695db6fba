"""Phone sync benchmark (docs/field.md): N grid workers each replay a queue of M records (one photo per 10 records)
against the real HTTP API, all at once.

    python benchmarks/field_sync.py [--db data/ankang.sqlite] [--workers 200] [--records 50] [--batch 10]

The world is copied (without --db a tiny test world is built in a temporary folder); one `grid_worker` account per
worker is added to the copy, scoped to one grid, with a session opened as the login page would (200 logins from one
address would meet the login rate limit). The console runs as the production server (`python -m console.server`,
granian unless --server waitress) behind the security gate. Each worker sends its records as the phone's queue does:
batches to POST /api/field/sync, then its photos (one request each: the first chunk carries the declaration). The
last batch of every worker is sent twice (an answer lost on the way: the replay must store nothing).

Figures: records_per_s (acknowledged records ÷ wall time of the sync phase), p95_sync_ms (a record's send to its
acknowledgement, i.e. its batch's round trip), p95_photo_ms; then every acknowledged record is looked up in the
database: `lost` = acknowledged but absent, `duplicates` = stored more than once (rows or versions beyond one).
Also the CPU seconds the server and this client spent in the sync phase and the load average at its end: on a small
shared machine the client's 200 threads compete with the server. LAST line, JSON.
Targets: records_per_s ≥ 500, p95_sync_ms ≤ 2000, lost 0, duplicates 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from console_process import local_port, start_console  # noqa: E402 - a test helper: a console server process

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + os.urandom(60_000) + b"\xff\xd9"
TEST_KEY = "cGluZ2FuLXRlc3QtZGF0YS1rZXktMzItYnl0ZXMhISE="  # the tests' data key, for the built tiny world only


def prepare(args, folder: Path) -> tuple[str, list[str]]:
    from sectest import add_account, use_fast_hasher
    from console.security.accounts import STAGE_ACTIVE, open_session
    from console.security.config import Settings
    from console.store import make_engine, make_session_factory

    db = folder / "field.sqlite"
    if args.db:
        shutil.copy(args.db, db)
    else:
        from tests.browser.tinyworld import build

        os.environ.setdefault("PINGAN_DATA_KEY", TEST_KEY)
        build(db)
    con = sqlite3.connect(db)
    grids = [r[0] for r in con.execute("select code from grid where generation_high is null order by code")]
    con.close()
    use_fast_hasher()
    engine = make_engine(str(db), must_exist=True)
    factory = make_session_factory(engine)
    users = []
    for i in range(args.workers):
        name = f"bench_worker_{i:04d}"
        account_id = add_account(factory, name, ["grid_worker"], [grids[i % len(grids)]])
        # a logged-in phone: a session as the login page would open it (the login rate limit is per address)
        token, csrf = open_session(factory, Settings(), account_id, STAGE_ACTIVE, "127.0.0.1")
        users.append((name, grids[i % len(grids)], token, csrf))
    engine.dispose()
    return str(db), users


def phone_session(base: str, token: str, csrf: str):
    import requests

    s = requests.Session()
    s.cookies.set("pingan_session", token, domain="127.0.0.1", path="/")
    s.headers.update({"X-CSRFToken": csrf, "Origin": base, "X-Field-App": "3"})
    assert s.get(base + "/api/field/grid").status_code == 200  # what the app does first
    return s


def patiently(send, retries: list) -> object:
    """Send; on 503 (the database stayed locked: nothing stored) wait Retry-After and send again, as the phone's
    queue does."""
    for _ in range(20):
        r = send()
        if r.status_code != 503:
            return r
        retries.append(1)
        time.sleep(float(r.headers.get("Retry-After", "1")))
    return r


def worker_run(base, username, grid, token, csrf, n, batch, out, lock, barrier):
    s = phone_session(base, token, csrf)
    records = [{"uuid": str(uuidlib.uuid4()), "op_id": str(uuidlib.uuid4()), "kind": "event", "base_version": 0,
                "grid_code": grid, "client_time": "2026-11-26T08:00:00Z", "location": None, "household_id": None,
                "fields": {"type": "safety", "text": f"{username} 第{i + 1}条 巡查发现隐患"}} for i in range(n)]
    barrier.wait()
    times, acked, errors, photo_times, retries = [], [], 0, [], []
    batches = [records[i:i + batch] for i in range(0, n, batch)]
    for j, chunk in enumerate(batches + batches[-1:]):  # the last batch twice: a lost answer, replayed
        t0 = time.perf_counter()
        r = patiently(lambda: s.post(base + "/api/field/sync", json={
            "sent_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "records": chunk}), retries)
        dt = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            errors += len(chunk)
            continue
        for res in r.json()["results"]:
            if res["status"] in ("created", "duplicate") and j < len(batches):
                acked.append(res["uuid"])
                times.append(dt)
            elif res["status"] not in ("created", "duplicate"):
                errors += 1
    for rec in records[::10]:  # one photo per 10 records
        t0 = time.perf_counter()
        pid = str(uuidlib.uuid4())
        c = patiently(lambda: s.put(f"{base}/api/field/photos/{pid}?offset=0", data=JPEG, headers={
            "Content-Type": "application/octet-stream", "X-Record-UUID": rec["uuid"], "X-Photo-Size": str(len(JPEG)),
            "X-Photo-SHA256": hashlib.sha256(JPEG).hexdigest()}), retries)  # as the app sends a one-chunk photo
        if c.status_code != 200 or c.json().get("status") != "complete":
            errors += 1
        photo_times.append((time.perf_counter() - t0) * 1000)
    with lock:
        out["times"] += times
        out["acked"] += acked
        out["errors"] += errors
        out["photo_times"] += photo_times
        out["busy_retries"] += len(retries)


def _cpu(pid: int, own: bool = False) -> float:
    """CPU seconds (user + system) of a process, with its descendants unless `own`."""
    import psutil

    p = psutil.Process(pid)
    procs = [p] if own else [p, *p.children(recursive=True)]
    return sum(t.user + t.system for t in (q.cpu_times() for q in procs))


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1) if values else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a world to copy (never changed); default: a tiny test world")
    ap.add_argument("--workers", type=int, default=200)
    ap.add_argument("--records", type=int, default=50)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--threads", type=int, default=16, help="server threads per worker process")
    ap.add_argument("--server", default="granian", choices=("granian", "waitress"))
    ap.add_argument("--server-workers", type=int, default=1)
    args = ap.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="pingan-field-bench-"))
    proc = None
    try:
        db, users = prepare(args, folder)
        port = local_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_console(db, port, "--threads", str(args.threads), "--server", args.server,
                             "--workers", str(args.server_workers), timeout=120)
        out = {"times": [], "acked": [], "errors": 0, "photo_times": [], "busy_retries": 0}
        lock = threading.Lock()
        barrier = threading.Barrier(len(users) + 1)
        threads = [threading.Thread(target=worker_run, args=(base, u, g, tok, csrf, args.records, args.batch, out,
                                                             lock, barrier)) for u, g, tok, csrf in users]
        for t in threads:
            t.start()
        barrier.wait()  # every worker logged in: the clock starts
        server_cpu0, client_cpu0 = _cpu(proc.pid), _cpu(os.getpid(), own=True)
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        server_cpu, client_cpu = _cpu(proc.pid) - server_cpu0, _cpu(os.getpid(), own=True) - client_cpu0
        con = sqlite3.connect(db)
        stored = dict(con.execute("select uuid, count(*) from field_record group by uuid").fetchall())
        versions = dict(con.execute("select r.uuid, count(*) from field_record_version v join field_record r "
                                    "on r.id = v.record_id group by r.uuid").fetchall())
        photos = con.execute("select count(*) from field_photo where status='complete'").fetchone()[0]
        con.close()
        acked = set(out["acked"])
        lost = sum(1 for u in acked if u not in stored)
        duplicates = (len(out["acked"]) - len(acked)) + sum(c - 1 for c in stored.values()) + \
            sum(c - 1 for c in versions.values())
        total = args.workers * args.records
        result = {"workers": args.workers, "records": total, "acked": len(acked), "errors": out["errors"],
                  "busy_retries": out["busy_retries"],
                  "records_per_s": round(len(acked) / wall, 1), "p95_sync_ms": pct(out["times"], 0.95),
                  "p50_sync_ms": pct(out["times"], 0.5), "photos": photos,
                  "p95_photo_ms": pct(out["photo_times"], 0.95), "wall_s": round(wall, 2),
                  "lost": lost, "duplicates": duplicates, "batch": args.batch, "server": args.server,
                  "server_workers": args.server_workers,
                  "server_threads": args.threads,
                  "server_cpu_s": round(server_cpu, 1), "client_cpu_s": round(client_cpu, 1),
                  "load_end": [round(x, 1) for x in os.getloadavg()], "cpus": os.cpu_count(),
                  "world": f"copy of {args.db}" if args.db else "tiny test world"}
        # 督导考评 over the same world, the whole city and the newest month with patrols (benchmarks/assessment.py)
        from assessment import measure as measure_assessment

        result["assessment_ms"] = measure_assessment(db, None, 1)["assessment_ms"]
        print(f"{len(acked)}/{total} records acknowledged in {wall:.1f} s ({result['records_per_s']}/s), "
              f"p95 {result['p95_sync_ms']} ms, {photos} photos, lost {lost}, duplicates {duplicates}, "
              f"errors {out['errors']}")
        print(json.dumps(result, ensure_ascii=False))
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
