"""The assessment roll-ups (督导考评, console/services/assessment) as a batch job: the city's table of counties,
and per county partition the county's table of towns and each town's table of villages, for one month. The
quality cube the completeness indicator reads is built first by the quality job and broadcast to the workers."""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy.orm import Session

from console.services import areas
from console.services import assessment as A
from console.store import AreaScope

from . import cluster, db, parts as P, quality


def _row(r: A.Row) -> dict:
    return {"unit": r.unit, "label": r.label, "score": r.score, "rank": r.rank, "rates": dict(r.rates)}


def _table(s: Session, node: areas.AreaNode, month: A.Month, cube) -> dict:
    kids = areas.children(s, node)
    a = A.assess(s, node, AreaScope.city(), month, kids, {}, cube)
    return {"code": node.code, "name": node.name, "level": node.level, "month": month.key,
            "total": _row(a.total), "children": [_row(r) for r in a.children]}


def roll_up(part: tuple, db_url: str, month: A.Month, cube) -> list[dict]:
    """("city",): the city's table; ("county", code, …): the county's and its towns' tables."""
    with Session(db.engine_for(db_url)) as s:
        if part[0] == "city":
            return [_table(s, areas.city_node(s), month, cube)]
        county = areas.get_node(s, part[1])
        if county is None:
            return []
        out = [_table(s, county, month, cube)]
        out += [_table(s, town, month, cube) for town in areas.children(s, county)]
        return out


def run(db_url: str, client=None, *, month: A.Month | None = None, on_result=None) -> tuple[list[dict], dict]:
    """(one table per city/county/town, a summary) for `month` (default: this month)."""
    t0 = time.perf_counter()
    month = month or A.Month.parse(None, date.today())
    cube, _ = quality.run(db_url, client)
    with Session(db.engine_for(db_url)) as s:
        partitions = [("city",)] + [p for p in P.county_parts(s) if p[0] == "county"]
    results = cluster.run_tasks(client, roll_up, partitions, shared={"db_url": db_url, "month": month, "cube": cube},
                                on_result=on_result)
    tables = [t for r in results for t in r]
    summary = {"job": "assessment", "month": month.key, "partitions": len(partitions), "tables": len(tables),
               "seconds": round(time.perf_counter() - t0, 3)}
    return tables, summary
