"""Feed realistic duty events through the real HTTP API, for demos, tests and the benchmark.

    python -m console.simulate --url http://127.0.0.1:8050 --key pak_… --db data/ankang.sqlite --rate 20 --seconds 60

Tagged community-corrections persons move around home (a few cross their fence into another county), cameras
send heartbeats (some drop out for a while), grid workers report disputes and incidents, guardians report
missing or agitated patients. References (person ids, camera ids, grid points) are read from the database;
every event goes through POST /api/events with the source's key. Prints one JSON summary line at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests
from sqlalchemy import select

from console.store import Camera, Grid, SpecialPerson, make_engine, make_session_factory


def load_world(db: str, limit: int = 2000) -> dict:
    with make_session_factory(make_engine(db, must_exist=True))() as s:
        tagged = [(r.person_id, r.lon, r.lat, r.county_code) for r in s.execute(
            select(SpecialPerson.person_id, SpecialPerson.lon, SpecialPerson.lat, SpecialPerson.county_code).where(
                SpecialPerson.category == "correction", SpecialPerson.lon.is_not(None)).limit(limit))]
        mental = list(s.scalars(select(SpecialPerson.person_id).where(SpecialPerson.category == "mental").limit(limit)))
        cameras = list(s.scalars(select(Camera.device_id).limit(limit)))
        grids = [(r.code, r.label_lon, r.label_lat) for r in s.execute(
            select(Grid.code, Grid.label_lon, Grid.label_lat).where(Grid.generation_high.is_(None)).limit(limit * 2))]
    return {"tagged": tagged, "mental": mental, "cameras": cameras, "grids": grids}


class Simulator:
    def __init__(self, world: dict, seed: int = 1, run_id: str | None = None):
        self.w, self.rng = world, random.Random(seed)
        self.run = run_id or uuid.uuid4().hex[:8]
        self.n = 0
        self.pos = {pid: (lon, lat) for pid, lon, lat, _ in world["tagged"]}

    def _base(self, kind: str) -> dict:
        self.n += 1
        return {"event_id": f"sim-{self.run}-{self.n}", "type": kind,
                "occurred_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}

    def next_event(self) -> dict:
        r = self.rng.random()
        w = self.w
        if r < 0.45 and w["tagged"]:
            pid, hlon, hlat, county = self.rng.choice(w["tagged"])
            if self.rng.random() < 0.03:  # crosses the fence: shows up somewhere in another county
                others = [g for g in w["grids"] if not g[0].startswith(county)] or w["grids"]
                _, lon, lat = self.rng.choice(others)
            else:
                lon, lat = self.pos[pid]
                lon, lat = (lon + self.rng.uniform(-0.002, 0.002), lat + self.rng.uniform(-0.002, 0.002))
                if abs(lon - hlon) > 0.01 or abs(lat - hlat) > 0.01:
                    lon, lat = hlon, hlat
                self.pos[pid] = (lon, lat)
            return {**self._base("tag_position"), "person_id": pid, "location": {"lon": lon, "lat": lat}}
        if r < 0.75 and w["cameras"]:
            drop = self.rng.random() < 0.03
            payload = {"status": "offline", "offline_minutes": self.rng.randint(5, 180)} if drop else {"status": "online"}
            return {**self._base("camera_heartbeat"), "camera_id": self.rng.choice(w["cameras"]), "payload": payload}
        if r < 0.95 and w["grids"]:
            code, lon, lat = self.rng.choice(w["grids"][:50])  # a few busy grids, so repeats happen
            if self.rng.random() < 0.5:
                cat = self.rng.choice(["neighbour", "family", "demolition", "labour", "property", "land"])
                scale = self.rng.choice([2, 3, 5, 8, 12, 35]) if self.rng.random() < 0.3 else self.rng.randint(2, 6)
                return {**self._base("dispute_report"), "grid_code": code,
                        "location": {"lon": lon, "lat": lat}, "payload": {"category": cat, "scale": scale}}
            return {**self._base("grid_report"), "grid_code": code, "location": {"lon": lon, "lat": lat},
                    "payload": {"text": self.rng.choice(["巡查发现占道经营", "群众反映噪音扰民", "发现独居老人需关注"])}}
        kind = "missing_person" if self.rng.random() < 0.4 else "mental_incident"
        return {**self._base(kind), "person_id": self.rng.choice(w["mental"])}


def run(url: str, key: str, world: dict, rate: float, seconds: float, workers: int = 8, seed: int = 1,
        on_result=None) -> dict:
    """Post at `rate` events/s for `seconds`. Returns counts and latency percentiles (ms)."""
    sim = Simulator(world, seed)
    session = threading.local()
    lat: list[float] = []
    codes: dict[int, int] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def post(ev: dict):
        s = getattr(session, "s", None) or requests.Session()
        session.s = s
        t = time.perf_counter()
        try:
            r = s.post(url.rstrip("/") + "/api/events", data=json.dumps(ev), timeout=10,
                       headers={"X-API-Key": key, "Content-Type": "application/json"})
            code, body = r.status_code, (r.json() if r.headers.get("content-type", "").startswith("application/json") else {})
        except requests.RequestException as exc:
            code, body = 0, {}
            failures.append(f"{type(exc).__name__}: {str(exc)[:160]}")
        done = time.perf_counter()
        with lock:
            lat.append((done - t) * 1000)
            codes[code] = codes.get(code, 0) + 1
        if on_result is not None:
            on_result(ev, code, body, time.time())

    start = time.perf_counter()
    sent = 0
    with ThreadPoolExecutor(workers) as pool:
        while (now := time.perf_counter() - start) < seconds:
            due = int(now * rate) + 1
            while sent < due:
                pool.submit(post, sim.next_event())
                sent += 1
            time.sleep(min(0.005, 1 / rate))
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(len(lat) * q))], 1) if lat else None  # noqa: E731
    ok = codes.get(200, 0) + codes.get(201, 0)
    return {"sent": sent, "ok": ok, "errors": sent - ok, "codes": codes, "elapsed_s": round(time.perf_counter() - start, 2),
            "per_s": round(ok / max(1e-9, time.perf_counter() - start), 1), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            **({"first_failure": failures[0]} if failures else {})}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m console.simulate", description="值班事件模拟器（经真实 HTTP 接口）")
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True, help="来源系统的接口密钥（python -m console.duty.sources add …）")
    ap.add_argument("--db", default="data/ankang.sqlite", help="读取人员、摄像机、网格编号用")
    ap.add_argument("--rate", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.url, args.key, load_world(args.db), args.rate, args.seconds, args.workers, args.seed),
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
