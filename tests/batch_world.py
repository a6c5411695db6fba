"""A boundary change for the batch tests and benchmarks/scale.py: in `n` villages, the first two current grids are
merged into the first (a new generation; the second is retired), so every record of the second grid must move."""

from __future__ import annotations

from datetime import datetime

import shapely
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from console.store import Generation, Grid


def merge_grid_pairs(engine, n: int) -> list[tuple[str, str]]:
    """(kept, retired) grid codes of the merged pairs."""
    pairs = []
    with Session(engine) as s, s.begin():
        villages = s.execute(select(Grid.village_code).where(Grid.generation_high.is_(None))
                             .group_by(Grid.village_code).having(func.count() >= 2)
                             .order_by(Grid.village_code).limit(n)).scalars().all()
        for village in villages:
            a, b = s.scalars(select(Grid).where(Grid.village_code == village, Grid.generation_high.is_(None))
                             .order_by(Grid.code).limit(2)).all()
            gen = Generation(scope_code=village, created_at=datetime(2026, 11, 2), created_by="batch-test",
                             reason="合并网格（测试）")
            s.add(gen)
            s.flush()
            merged = shapely.union(shapely.from_wkb(a.geom_wkb), shapely.from_wkb(b.geom_wkb))
            s.execute(update(Grid).where(Grid.id == b.id).values(generation_high=gen.id - 1))
            minx, miny, maxx, maxy = merged.bounds
            s.execute(update(Grid).where(Grid.id == a.id).values(
                geom_wkb=shapely.to_wkb(merged), generation_low=gen.id, min_lon=minx, min_lat=miny,
                max_lon=maxx, max_lat=maxy))
            pairs.append((a.code, b.code))
    return pairs
