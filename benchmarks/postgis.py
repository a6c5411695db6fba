"""Benchmark: point → grid on PostGIS (ST_Covers on the GiST index) against the engine (geodata.assign), on a world
in PostgreSQL with PostGIS (docs/postgresql.md § PostGIS). Read-only: it never writes to --db.

    .venv/bin/python benchmarks/postgis.py --db postgresql+psycopg://pingan@/pingan [--points 20000]

Points: the located persons of the world (their stored coordinates), then as many again uniformly over the grids'
extent (some outside). Reports the agreement of PostGIS's single covering grid with the engine's pick (points
covered by several grids are the engine's to decide and are counted apart), the time per single-point lookup
both ways, one set-based SQL join for all points, and the engine's bulk call. The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project's console package, not benchmarks/console.py

import numpy as np  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from console.store import make_engine, spatial  # noqa: E402
from console.store.grid_locator import GridLocator, PostgisLocator  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--points", type=int, default=20000)
    ap.add_argument("--single", type=int, default=2000, help="points looked up one at a time each way")
    args = ap.parse_args(argv)
    engine = make_engine(args.db, must_exist=True, poolclass=NullPool)
    if spatial.backend(engine) != "postgis":
        raise SystemExit("该数据库未启用 PostGIS（见 docs/postgresql.md § PostGIS）")
    rng = np.random.default_rng(1)
    with Session(engine) as s:
        people = np.array(s.execute(text("SELECT lon, lat FROM person WHERE lon IS NOT NULL ORDER BY id LIMIT :n"),
                                    {"n": args.points // 2}).all(), float)
        x0, y0, x1, y1 = s.execute(text("SELECT min(min_lon), min(min_lat), max(max_lon), max(max_lat) FROM grid"
                                        " WHERE generation_high IS NULL")).one()
        uniform = np.column_stack([rng.uniform(x0, x1, args.points - len(people)),
                                   rng.uniform(y0, y1, args.points - len(people))])
        pts = np.vstack([people, uniform])
        t = time.perf_counter()
        grid = GridLocator.from_session(s)
        build_s = time.perf_counter() - t
        grid.locate_many(pts[:10, 0], pts[:10, 1])  # loads (or compiles) the numba kernels, not timed
        t = time.perf_counter()
        mine = grid.locate_many(pts[:, 0], pts[:, 1])
        engine_bulk_s = time.perf_counter() - t
        t = time.perf_counter()
        s.execute(text("CREATE TEMP TABLE bench_pt (i int, lon float8, lat float8)"))
        s.connection().connection.driver_connection.cursor().executemany(
            "INSERT INTO bench_pt VALUES (%s, %s, %s)", [(i, float(x), float(y)) for i, (x, y) in enumerate(pts)])
        covers = s.execute(text(
            "SELECT p.i, array_agg(g.code) FILTER (WHERE g.code IS NOT NULL) FROM bench_pt p LEFT JOIN grid g"
            " ON g.generation_high IS NULL AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))"
            " GROUP BY p.i ORDER BY p.i")).all()
        sql_join_s = time.perf_counter() - t
        s.rollback()  # the temp table goes with the transaction: nothing written
    single, tie, agree = 0, 0, 0
    for (_, codes), m in zip(covers, mine):
        codes = codes or []
        pick = m["grid_code"] if m else None
        if len(codes) > 1:
            tie += 1
            agree += pick in codes
        else:
            single += 1
            agree += (codes[0] if codes else None) == pick
    pooled = make_engine(args.db, must_exist=True)  # as a node has it: connections reused
    pg = PostgisLocator(pooled)
    pg._grid = grid  # ties go to the same engine index
    sample = pts[: args.single]
    t = time.perf_counter()
    for x, y in sample:
        pg.locate(x, y)
    postgis_single_ms = (time.perf_counter() - t) / len(sample) * 1000
    t = time.perf_counter()
    for x, y in sample:
        grid.locate(x, y)
    engine_single_ms = (time.perf_counter() - t) / len(sample) * 1000
    out = {"points": len(pts), "covered_by_several": tie, "agreement": round(agree / len(pts), 6),
           "postgis_single_ms": round(postgis_single_ms, 3), "engine_single_ms": round(engine_single_ms, 4),
           "postgis_join_s": round(sql_join_s, 3), "engine_bulk_s": round(engine_bulk_s, 4),
           "engine_build_s": round(build_s, 3)}
    pooled.dispose()
    for k, v in out.items():
        print(f"{k:22s} {v}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
