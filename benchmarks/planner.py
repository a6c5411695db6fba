"""Grid planner benchmark on the full-scale world.

    python benchmarks/planner.py --db data/ankang.sqlite [--repeat 10] [--in-place]

- revalidate_ms: one vertex of one grid moved in the village with the most grids → the redraw edit (clip, snap,
  neighbours follow) + every validity rule + households/residents per grid with the assignment engine. Median.
- commit_ms: a redraw of that village (a proposal with one grid more than today) that moves thousands of
  households, committed as a new generation: lock, rebase check, validation, preview, grid rows, re-assignment
  of every located record, move log, workers, audit, COMMIT.
- propose_ms: an automatic proposal for the village whose household count is nearest 3,000. Median.

The commit runs on a scratch copy of the database unless --in-place. Last line: one JSON object.
Targets: revalidate ≤ 200, commit ≤ 500, propose ≤ 2000.
"""

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


def _median_ms(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), out


def _moved_vertex(polygon, share: float = 0.15):
    """The grid with its first interior-facing vertex pulled a little towards the centroid."""
    from shapely.geometry import Polygon

    coords = list(polygon.exterior.coords)[:-1]
    c = polygon.centroid
    x, y = coords[1]
    coords[1] = (x + (c.x - x) * share, y + (c.y - y) * share)
    return Polygon(coords)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--in-place", action="store_true", help="commit into --db itself (adds a generation)")
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from console.planner import commit as committing, drafts
    from console.planner.evaluate import evaluate
    from console.planner.village import load_village
    from console.security.audit import Auditor
    from console.security.guard import Viewer
    from console.store import Grid, make_engine, make_session_factory
    from geodata.planner import draft as drafting, propose as proposing

    db = args.db
    if not args.in_place:
        scratch = Path(tempfile.mkdtemp(prefix="pingan-planner-bench-")) / "world.sqlite"
        print(f"copying {db} → {scratch} …", flush=True)
        shutil.copy(db, scratch)
        with open(scratch, "rb+") as f:  # flush the copy now: the commit's checkpoint must not pay for it
            os.fsync(f.fileno())
        db = str(scratch)
    sessions = make_session_factory(make_engine(db, must_exist=True))
    with sessions() as s:
        big, n_grids = s.execute(select(Grid.village_code, func.count()).where(Grid.generation_high.is_(None))
                                 .group_by(Grid.village_code).order_by(func.count().desc())).first()
        mid, mid_households = s.execute(
            select(Grid.village_code, func.sum(Grid.households)).where(Grid.generation_high.is_(None))
            .group_by(Grid.village_code).order_by(func.abs(func.sum(Grid.households) - 3000))).first()
        t = time.perf_counter()
        village = load_village(s, big)
        load_ms = (time.perf_counter() - t) * 1000
        other = load_village(s, mid)
    print(f"village {big}: {n_grids} grids, {village.households} households (loaded in {load_ms:.0f} ms)", flush=True)

    # the grid with most neighbours is the worst case for "neighbours follow"
    state = village.grids
    i = max(range(len(state)), key=lambda k: sum(
        state[k].geometry.touches(g.geometry) for j, g in enumerate(state) if j != k))
    moved = _moved_vertex(state[i].geometry)
    evaluate(village, state)  # warm the engine's compiled kernels

    def revalidate():
        new = drafting.redraw(state, village.geometry, i, moved)
        return new, evaluate(village, new)

    revalidate_ms, revalidate_max, (after, ev) = _median_ms(revalidate, args.repeat)
    print(f"revalidate: median {revalidate_ms:.1f} ms, max {revalidate_max:.1f} ms; "
          f"{len(ev.problems)} problems, {len(ev.balance.unassigned)} unassigned", flush=True)

    band = lambda v: __import__("geodata.planner.rules", fromlist=["x"]).DEFAULT_RULES.band_for(v.kind)  # noqa: E731
    propose_ms, propose_max, (proposal, k) = _median_ms(
        lambda: proposing.propose(other.geometry, other.lon, other.lat, band(other), current=other.grids),
        max(3, args.repeat // 2))
    print(f"propose: village {mid} ({mid_households} households) → {k} grids, median {propose_ms:.0f} ms", flush=True)

    redraw, k2 = proposing.propose(village.geometry, village.lon, village.lat, band(village), k=len(state) + 1,
                                   current=state)
    viewer = Viewer.build("bench_planner", ["grid_planner"], [big], auditor=Auditor(sessions))
    with sessions() as s, s.begin():
        d = drafts.start(s, viewer, big, redraw, "基准测试重划", now=datetime.now()).id
    # as on the page: the planner previews (who moves, which workers gain/lose) before committing
    t = time.perf_counter()
    with sessions() as s:
        pv = committing.preview(s, load_village(s, big), drafts.state_of(drafts.get(s, viewer, d)))
    preview_ms = (time.perf_counter() - t) * 1000
    print(f"preview: {sum(r['household'] for r in pv.pairs)} households change grid, {preview_ms:.0f} ms", flush=True)
    t = time.perf_counter()
    with sessions() as s, s.begin():
        result = committing.commit_draft(s, viewer, d, "基准测试：整村重划")
    commit_ms = (time.perf_counter() - t) * 1000
    print(f"commit: generation {result.generation}, {result.moved.get('household', 0)} households and "
          f"{result.moved.get('person', 0)} persons moved, {commit_ms:.0f} ms", flush=True)

    print(json.dumps({
        "revalidate_ms": round(revalidate_ms, 1), "commit_ms": round(commit_ms, 1), "propose_ms": round(propose_ms, 1),
        "details": {"village": big, "grids": n_grids, "households": village.households,
                    "revalidate_max_ms": round(revalidate_max, 1), "commit_households_moved": result.moved.get("household", 0),
                    "commit_persons_moved": result.moved.get("person", 0), "preview_ms": round(preview_ms, 1),
                    "commit_records_moved": sum(result.moved.values()), "propose_village": mid,
                    "propose_households": other.households, "propose_grids": k, "load_village_ms": round(load_ms, 1),
                    "repeat": args.repeat}}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
