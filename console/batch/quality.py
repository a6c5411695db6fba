"""The data-quality cube (console/services/quality.py `build_cube`) as a batch job: one cube per county
partition of the records (parts.py), merged by summing. Every key holds one grid code, and a grid code belongs
to one partition, so the merge equals the cube built in one pass."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy.orm import Session

from console.services.quality import QualityCube, build_cube

from . import cluster, db, parts as P


def cube_of(part: P.Part, db_url: str, now: datetime) -> QualityCube:
    with Session(db.engine_for(db_url)) as s:
        return build_cube(s, now, where=lambda model: P.clause(model.grid_code, part))


def merge(cubes, now: datetime) -> QualityCube:
    out = QualityCube(built_at=now)
    for cube in cubes:
        for attr in ("problems", "records"):
            target = getattr(out, attr)
            for name, keys in getattr(cube, attr).items():
                into = target.setdefault(name, {})
                for key, n in keys.items():
                    into[key] = into.get(key, 0) + n
    return out


def run(db_url: str, client=None, *, now: datetime | None = None, on_result=None) -> tuple[QualityCube, dict]:
    """(the city's quality cube, a summary)."""
    t0 = time.perf_counter()
    now = now or datetime.now()
    with Session(db.engine_for(db_url)) as s:
        partitions = P.county_parts(s)
    cube = merge(cluster.run_tasks(client, cube_of, partitions, shared={"db_url": db_url, "now": now},
                                   on_result=on_result), now)
    summary = {"job": "quality", "partitions": len(partitions),
               "problems": {k: sum(v.values()) for k, v in cube.problems.items()},
               "records": {k: sum(v.values()) for k, v in cube.records.items()},
               "seconds": round(time.perf_counter() - t0, 3)}
    return cube, summary
