"""Benchmark: the batch re-assignment on Dask with 1 and 2 workers on a province-scale world, and the engine's
agreement with PostGIS on a 1,000,000-record sample (docs/scale.md). Read-only: never writes to --db.

    .venv/bin/python benchmarks/scale.py --db /work/data/province.sqlite     # python -m world.province builds it

Re-assignment: a boundary change (pairs of grids merged in `--merge` villages) applied to the grid index in memory
and the job run as a dry run (every partition read, located and compared; the changed records counted, not
written), on a LocalCluster of 1 and then of 2 worker processes (threads_per_worker=1), each warmed up first (the
numba kernels loaded); a first pass warms the OS file cache (`--no-warm-pass` skips it). `--repeat R` alternates
R 1-worker and R 2-worker runs and reports the medians (the box is shared: its load swings between runs);
`--cities N` re-assigns the counties of the first N cities only. `scaling` = 1-worker time ÷ 2-worker time.
PostGIS: a throwaway cluster (tests/pg.py), the current grids and the sample loaded by COPY, one set-based
ST_Covers join on the GiST index; `postgis_agreement` is the share of points where PostGIS's single covering grid
(or none) is the engine's pick, points covered by several grids (on shared edges) counted as agreeing when the
engine's pick is one of them, as in benchmarks/postgis.py. `consoles`, `console_errors`, `console_p95_ms` come from
benchmarks/scale_consoles.py (`run_consoles`: 50 consoles on two nodes over a throwaway PostgreSQL).
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project's console package, not benchmarks/console.py

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from console.batch import cluster, db as batch_db, reassign  # noqa: E402

DEFAULT_DBS = ("/work/data/province.sqlite",)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def changed_grids(rows: list[tuple], villages: int) -> list[tuple]:
    """The current grids with the first two grids of `villages` villages merged into the first."""
    by_village: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_village.setdefault(r[1], []).append(i)
    drop, out = set(), list(rows)
    for village in sorted(v for v, ix in by_village.items() if len(ix) >= 2)[:villages]:
        a, b = sorted(by_village[village], key=lambda i: rows[i][0])[:2]
        merged = shapely.union(shapely.from_wkb(rows[a][3]), shapely.from_wkb(rows[b][3]))
        out[a] = (rows[a][0], rows[a][1], rows[a][2] + 1, shapely.to_wkb(merged))
        drop.add(b)
    return [r for i, r in enumerate(out) if i not in drop]


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def timed_reassign(db: str, grids, workers: int, counties: str | None = None) -> tuple[float, dict, list]:
    """(wall seconds, changes per table, CPU seconds of each worker process during the job)."""
    with cluster.open_client(None, workers) as client:
        cluster.warm_up(client)
        before = client.run(_cpu_seconds)
        t = time.perf_counter()
        result = reassign.run(db, client, dry_run=True, grids=grids, counties=counties)
        wall = time.perf_counter() - t
        after = client.run(_cpu_seconds)
        return wall, result.changed, [round(after[w] - before[w], 1) for w in sorted(after) if w in before]


def postgis_agreement(db: str, rows: list[tuple], n: int) -> dict:
    from tests.pg import Unavailable, remove_cluster, start_cluster

    eng = batch_db.engine_for(db)
    with eng.connect() as c:
        total = c.exec_driver_sql("SELECT max(id) FROM person").scalar()
        count = c.exec_driver_sql("SELECT count(*) FROM person").scalar()
        step = max(1, count // n)
        pts = np.array(c.exec_driver_sql(
            f"SELECT lon, lat FROM person WHERE lon IS NOT NULL AND id % {step} = 0 LIMIT {n}").all(), float)
    log(f"PostGIS sample: {len(pts)} residents (every {step}th id of {count}, max id {total})")
    grids = reassign.GridTable.from_rows(rows)
    t = time.perf_counter()
    pick = grids.index.locate(pts[:, 0], pts[:, 1])
    engine_s = time.perf_counter() - t
    try:
        pg = start_cluster()
    except Unavailable as exc:
        log(f"PostgreSQL unavailable: {exc}")
        return {"postgis_agreement": None, "postgis_sample": len(pts)}
    try:
        with pg.connect(autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE TABLE g (i int, geom geometry(Geometry, 4326))")
            conn.execute("CREATE TABLE p (i int, geom geometry(Point, 4326))")
            t = time.perf_counter()
            # hex EWKB: the exact float64 coordinates, no text round trip
            g_hex = shapely.to_wkb(shapely.set_srid(shapely.from_wkb([r[3] for r in rows]), 4326), hex=True,
                                   include_srid=True)
            p_hex = shapely.to_wkb(shapely.set_srid(shapely.points(pts), 4326), hex=True, include_srid=True)
            for table, values in (("g", g_hex), ("p", p_hex)):
                with conn.cursor().copy(f"COPY {table} (i, geom) FROM STDIN") as cp:
                    for i, h in enumerate(values.tolist()):
                        cp.write_row((i, h))
            conn.execute("CREATE INDEX ON g USING gist (geom)")
            conn.execute("ANALYZE g")
            conn.execute("ANALYZE p")
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            found = conn.execute("SELECT p.i, array_agg(g.i) FILTER (WHERE g.i IS NOT NULL) FROM p LEFT JOIN g "
                                 "ON ST_Covers(g.geom, p.geom) GROUP BY p.i").fetchall()
            join_s = time.perf_counter() - t
    finally:
        remove_cluster(pg)
    agree = several = 0
    for i, hits in found:
        hits = hits or []
        if len(hits) > 1:
            several += 1
            agree += int(pick[i]) in hits
        else:
            agree += (hits[0] if hits else -1) == int(pick[i])
    return {"postgis_sample": len(pts), "postgis_agreement": round(agree / len(pts), 6),
            "postgis_covered_by_several": several, "postgis_load_s": round(load_s, 2),
            "postgis_join_s": round(join_s, 2), "engine_sample_s": round(engine_s, 4)}


def consoles(minutes: float) -> dict:
    """50 logged-in consoles on two console nodes over one PostgreSQL (benchmarks/scale_consoles.py): the
    province world is a SQLite file, so the consoles run on the throwaway cluster's own world."""
    sys.path.insert(0, str(Path(__file__).parent))
    from scale_consoles import run_consoles

    got = run_consoles(minutes=minutes, consoles=50, pg=True, nodes=2)
    return {k: got.get(k) for k in ("consoles", "console_errors", "console_p95_ms")}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=next((d for d in DEFAULT_DBS if os.path.exists(d)), None))
    ap.add_argument("--merge", type=int, default=200, help="villages whose first two grids are merged")
    ap.add_argument("--sample", type=int, default=1_000_000, help="residents compared with PostGIS")
    ap.add_argument("--cities", type=int, default=None, help="re-assign the counties of the first N cities only")
    ap.add_argument("--repeat", type=int, default=1, help="1-worker / 2-worker runs, alternating (medians)")
    ap.add_argument("--no-warm-pass", action="store_true", help="skip the first, file-cache warming pass")
    ap.add_argument("--no-postgis", action="store_true")
    ap.add_argument("--no-consoles", action="store_true")
    ap.add_argument("--console-minutes", type=float, default=10, help="how long the 50 consoles run")
    args = ap.parse_args(argv)
    if not args.db or not os.path.exists(args.db) and "://" not in args.db:
        raise SystemExit("找不到数据库：请用 --db 指定（python -m world.province 构建省级演示库）")
    eng = batch_db.engine_for(args.db)
    with eng.connect() as c:
        counts = {t: c.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in reassign.TABLES}
        cities = c.exec_driver_sql("SELECT count(*) FROM area WHERE level = 'city'").scalar()
    with Session(eng) as s:
        rows = reassign.current_grids(s)
    log(f"{args.db}: {cities} cities, {len(rows)} grids, records {counts}")
    t = time.perf_counter()
    grids = reassign.GridTable.from_rows(changed_grids(rows, args.merge))
    index_s = time.perf_counter() - t
    out = {"db": args.db, "cities": cities, "residents": counts["person"], "records": sum(counts.values()),
           "grids": len(rows), "merged_villages": args.merge, "index_build_s": round(index_s, 3)}
    if args.cities:  # the counties of the first N cities only (6109…, 6191…, …)
        prefixes = ["6109"] + [f"61{90 + k}" for k in range(1, args.cities)]
        counties = ",".join(prefixes)
        out["reassign_cities"] = args.cities
    else:
        counties = None
    if not args.no_warm_pass:
        t_first, _, _ = timed_reassign(args.db, grids, 2, counties)
        log(f"first (file-cache warming) pass, 2 workers: {t_first:.1f}s")
        out["reassign_s_first_pass_2w"] = round(t_first, 2)
    runs, loads, cpus = {1: [], 2: []}, {1: [], 2: []}, {1: [], 2: []}
    changed = set()
    for _ in range(args.repeat):  # alternate, so a change of the box's load hits both alike
        for w in (1, 2):
            t, ch, cpu = timed_reassign(args.db, grids, w, counties)
            runs[w].append(t)
            loads[w].append(round(os.getloadavg()[0], 1))
            cpus[w].append(cpu)
            changed.add(tuple(sorted(ch.items())))
            log(f"{w} worker(s): {t:.1f}s, worker CPU {cpu} s, changed {sum(ch.values())}, load {loads[w][-1]}")
    assert len(changed) == 1
    t1, t2 = float(np.median(runs[1])), float(np.median(runs[2]))
    n_changed = sum(dict(changed.pop()).values())
    out.update({"reassign_s_1w": round(t1, 2), "reassign_s_2w": round(t2, 2), "scaling": round(t1 / t2, 2),
                "reassign_runs_1w": [round(t, 1) for t in runs[1]], "reassign_runs_2w": [round(t, 1) for t in runs[2]],
                "reassign_load_1w": loads[1], "reassign_load_2w": loads[2],
                # CPU seconds of the worker processes per run: on a box shared with other jobs the wall times
                # follow the load; these show the work itself and how evenly two workers share it
                "reassign_worker_cpu_s_1w": cpus[1], "reassign_worker_cpu_s_2w": cpus[2],
                "cpu_scaling": round(float(np.median([sum(c) for c in cpus[1]]))
                                     / float(np.median([max(c) for c in cpus[2]])), 2),
                "reassign_changed": n_changed})
    if not args.no_postgis:
        out.update(postgis_agreement(args.db, rows, args.sample))
        log(f"PostGIS: {out}")
    else:
        out["postgis_agreement"] = None
    out.update(consoles(args.console_minutes) if not args.no_consoles else
               {"consoles": None, "console_errors": None, "console_p95_ms": None})
    out["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


if __name__ == "__main__":
    main()
