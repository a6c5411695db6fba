"""Partitions of a record table by county, on the grid-code index every record table has.

A partition is a plain tuple (picklable, sent to the workers): ("county", code, low, high) for the records whose
grid code lies in the county's code range, ("unlocated",) for those without a grid, ("rest", gaps) for grid
codes in no county of the area table — the gaps between the counties' ranges, each again an index range (a
condition "in none of 100 ranges" would scan the whole table). Together they cover every row exactly once.
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from console.store import Area
from console.store.scope import code_range

Part = tuple


def county_parts(session: Session) -> list[Part]:
    counties = session.scalars(select(Area.code).where(Area.level == "county").order_by(Area.code)).all()
    parts: list[Part] = [("county", c, *code_range(c)) for c in counties]
    parts.append(("unlocated",))
    parts.append(("rest", gaps([(p[2], p[3]) for p in parts if p[0] == "county"])))
    return parts


def gaps(ranges: list[tuple[str, str | None]]) -> tuple:
    """The complement of sorted, disjoint [low, high) ranges (high None: unbounded) as ranges; low None: from the
    start."""
    out, at = [], None
    for lo, hi in sorted(ranges):
        if at is None or at < lo:
            out.append((at, lo))
        if hi is None:
            return tuple(out)
        at = hi if at is None else max(at, hi)
    out.append((at, None))
    return tuple(out)


def label(part: Part) -> str:
    return part[1] if part[0] == "county" else part[0]


def _in_range(col, lo, hi):
    if lo is None and hi is None:
        return col.is_not(None)
    if lo is None:
        return col < hi
    return col >= lo if hi is None else and_(col >= lo, col < hi)


def clause(col, part: Part):
    """SQLAlchemy condition on a grid-code column selecting the partition's rows."""
    if part[0] == "county":
        return _in_range(col, part[2], part[3])
    if part[0] == "unlocated":
        return col.is_(None)
    return or_(*[_in_range(col, lo, hi) for lo, hi in part[1]]) if part[1] else false()


def raw_clause(col: str, part: Part, mark: str) -> tuple[str, list]:
    """The same condition as DB-API SQL text with parameters (`mark`: '?' or '%s')."""
    def rng(lo, hi):
        if lo is None and hi is None:
            return f"{col} IS NOT NULL", []
        if lo is None:
            return f"{col} < {mark}", [hi]
        if hi is None:
            return f"{col} >= {mark}", [lo]
        return f"({col} >= {mark} AND {col} < {mark})", [lo, hi]

    if part[0] == "county":
        return rng(part[2], part[3])
    if part[0] == "unlocated":
        return f"{col} IS NULL", []
    if not part[1]:
        return "1 = 0", []
    sql, params = [], []
    for lo, hi in part[1]:
        s, p = rng(lo, hi)
        sql.append(s)
        params += p
    return "(" + " OR ".join(sql) + ")", params
