"""突发事件 benchmark: raise alerts to Ⅰ级 incidents and assemble each (nearest cameras, grid workers, key places and
护路护线 within 3 km, timeline), on a copy of a world. Prints figures; the last line is one JSON object.

    python benchmarks/incident.py --db data/ankang.sqlite [--n 50]

`assemble_p95_ms`: one incident page's assembly with the camera index already loaded (the console keeps it);
`raise_p95_ms`: one raise (checks, incident, timeline and audit rows in one transaction); docs/safety.md."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def measure(db: str, n: int) -> dict:
    import numpy as np
    from sqlalchemy import func, select

    from console.safety import incidents
    from console.security.audit import Auditor
    from console.security.guard import Viewer
    from console.services import incident as assembly
    from console.store import Alert, Camera, make_engine, make_session_factory
    from console.store.codes import CITY_CODE
    from console.store.safety_models import KeyPlace
    from console.video.service import CameraIndex

    engine = make_engine(db, must_exist=True)
    factory = make_session_factory(engine)
    now = datetime(2026, 11, 26, 1, 0)
    viewer = Viewer.build("bench_duty", ["duty_officer"], [CITY_CODE], auditor=Auditor(factory, lambda: now))
    with factory() as s, s.begin():
        cams = s.scalars(select(Camera).where(Camera.status == "online").order_by(Camera.id)).all()
        pick = np.random.default_rng(18).choice(len(cams), min(n, len(cams)), replace=False)
        ids = []
        for i in pick.tolist():
            c = cams[i]
            a = Alert(rule="crowd", kind="crowd", severity="high", state="new", title=f"基准聚集{i}", raised_at=now,
                      updated_at=now, lon=c.lon + 0.0003, lat=c.lat, county_code=c.county_code, town_code=c.town_code,
                      village_code=c.village_code, grid_code=c.grid_code, assign_generation=c.assign_generation)
            s.add(a)
            s.flush()
            ids.append(a.id)
        places = s.scalar(select(func.count()).select_from(KeyPlace))
    raise_ms, assemble_ms, found = [], [], {"cameras": [], "workers": [], "places": []}
    with factory() as s:
        t = time.perf_counter()
        index = CameraIndex.load(s)
        index_ms = (time.perf_counter() - t) * 1000
    for alert_id in ids:
        t = time.perf_counter()
        with factory() as s, s.begin():
            inc = incidents.raise_incident(s, viewer, alert_id, "I", "", now).id
        raise_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        with factory() as s:
            a = assembly.assemble(s, viewer, inc, index, 16)
        assemble_ms.append((time.perf_counter() - t) * 1000)
        for k in found:
            found[k].append(len(a[k]))
    engine.dispose()
    print(f"{len(ids)} incidents, {len(cams):,} online cameras, {places:,} key places; camera index {index_ms:.0f} ms")
    print(f"raise: median {statistics.median(raise_ms):.1f} ms, p95 {p95(raise_ms):.1f} ms")
    print(f"assemble: median {statistics.median(assemble_ms):.1f} ms, p95 {p95(assemble_ms):.1f} ms")
    print("per incident (median): " + ", ".join(f"{k} {statistics.median(v):.0f}" for k, v in found.items()))
    return {"incidents": len(ids), "raise_p95_ms": round(p95(raise_ms), 1),
            "assemble_p95_ms": round(p95(assemble_ms), 1), "assemble_median_ms": round(statistics.median(assemble_ms), 1),
            "camera_index_ms": round(index_ms), "key_places": places, "load": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pingan-incident-") as tmp:
        copy = str(Path(tmp) / "world.sqlite")
        shutil.copy(args.db, copy)  # never touches the world it was given
        result = measure(copy, args.n)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
