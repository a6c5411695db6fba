"""督导考评 benchmark: the whole city's assessment for one month (its counties ranked, the six indicators), then one
county and one village with its grid workers, on a copy of a world. Prints figures; the last line is one JSON
object.

    python benchmarks/assessment.py --db data/ankang.sqlite [--month 2026-11] [--repeat 3]

Target (docs/assessment.md): assessment_ms ≤ 2,000 for the whole city and one month, as the page computes it (with
the per-grid data-quality counts the console caches for 5 minutes; `quality_cube_ms` is what building those costs
once, `assessment_live_ms` the same assessment with every check run on the tables)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measure(db: str, month_text: str | None, repeat: int) -> dict:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from console.services import areas, quality
    from console.services.assessment import Month, assess
    from console.store import AreaScope, Household, Person, make_engine
    from console.store.patrol_models import Patrol

    engine = make_engine(db, must_exist=True)
    scope = AreaScope.city()
    out: dict = {}
    with Session(engine) as s:
        month = Month.parse(month_text, date.today())
        if month_text is None:  # the newest month with patrols, else the last complete one
            newest = s.scalar(select(func.max(Patrol.started_at)))
            if newest is not None:
                month = Month.parse(f"{newest.year}-{newest.month}", date.today())
        persons, households = s.scalar(select(func.count()).select_from(Person)), \
            s.scalar(select(func.count()).select_from(Household))
        city = areas.resolve(s, scope, None).node
        t = time.perf_counter()
        live = assess(s, city, scope, month, areas.children(s, city))  # no cache: every check on the tables
        live_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        cube = quality.build_cube(s)  # what the console keeps for 5 minutes (views.quality_cube)
        cube_ms = (time.perf_counter() - t) * 1000
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            a = assess(s, city, scope, month, areas.children(s, city), quality_cube=cube)
            times.append((time.perf_counter() - t) * 1000)
        assert a.total.counts == live.total.counts, "the cube and the tables disagree"
        county = areas.children(s, city)[0]
        t = time.perf_counter()
        assess(s, county, scope, month, areas.children(s, county), quality_cube=cube)
        county_ms = (time.perf_counter() - t) * 1000
        village_code = s.scalar(select(Patrol.village_code).group_by(Patrol.village_code)
                                .order_by(func.count().desc()).limit(1))
        village = areas.resolve(s, scope, village_code).node if village_code else None
        village_ms, workers = None, 0
        if village is not None and village.level == "village":
            t = time.perf_counter()
            v = assess(s, village, scope, month, areas.children(s, village), quality_cube=cube)
            village_ms, workers = (time.perf_counter() - t) * 1000, len(v.workers)
    engine.dispose()
    print(f"month {month.label}: {persons:,} persons, {households:,} households")
    print(f"city assessment: {', '.join(f'{t:.0f}' for t in times)} ms with the cached quality counts "
          f"(built once in {cube_ms:.0f} ms); {live_ms:.0f} ms without; city score {a.total.score}")
    for r in a.children:
        print(f"  {r.rank or '—':>2} {r.label} {r.score}")
    print(f"county {county.name}: {county_ms:.0f} ms; village: {village_ms and round(village_ms)} ms, {workers} workers")
    out.update(assessment_ms=round(statistics.median(times)), assessment_live_ms=round(live_ms),
               quality_cube_ms=round(cube_ms),
               county_ms=round(county_ms), village_ms=village_ms and round(village_ms), workers=workers,
               persons=persons, month=month.key, load=round(os.getloadavg()[0], 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--month", default=None, help="YYYY-MM (default: the newest month with patrols)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pingan-assess-") as tmp:
        copy = str(Path(tmp) / "world.sqlite")
        shutil.copy(args.db, copy)  # never touches the world it was given
        result = measure(copy, args.month, args.repeat)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
