"""Re-assign every located record of the city to the current grids (after boundary changes, an import of grids,
a repaired coverage): per table and county partition, the numba engine (geodata.assign) locates each record's
position in the broadcast grid index, as `GridLocator` does for one record (inside a grid: its codes and
boundary generation; outside every grid: no codes). Records without a position keep theirs. Only the records
whose codes change are written, once at the end, in one transaction — with, as a grid commit writes them
(console/planner/movelog.py), one `grid_move` row per record whose grid changes and the household tallies of the
grids that gained or lost households: a rerun after a failure finds the same changes, after a success none
(idempotent).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.planner.movelog import RECORD_KINDS, kind_of, log_moves, recount_grids
from console.services.cluster import CHANNEL
from console.store import Dispute, Generation, Grid, Household
from console.store.codes import area_codes_of
from geodata.assign import PolygonIndex

from . import cluster, db, parts as P

TABLES = tuple(dict.fromkeys(model.__tablename__ for model, _ in RECORD_KINDS.values()))
CODE_COLUMNS = ("county_code", "town_code", "village_code", "grid_code")
SET_COLUMNS = (*CODE_COLUMNS, "assign_generation")


def current_grids(session: Session) -> list[tuple]:
    return [tuple(r) for r in session.execute(
        select(Grid.code, Grid.village_code, Grid.generation_low, Grid.geom_wkb)
        .where(Grid.generation_high.is_(None)).order_by(Grid.code)).all()]


@dataclass
class GridTable:
    """The current grids as the workers need them: the engine's index plus, per grid (and a trailing 'outside'
    entry), the four area codes and the boundary generation."""

    index: PolygonIndex
    codes: tuple[np.ndarray, ...]  # county, town, village, grid: object[n + 1], last None
    generation: np.ndarray  # float[n + 1] (NaN: outside)
    position: pd.Index  # grid code → position

    @classmethod
    def from_session(cls, session: Session) -> "GridTable":
        return cls.from_rows(current_grids(session))

    @classmethod
    def from_rows(cls, rows) -> "GridTable":
        """rows: (code, village_code, generation_low, geom_wkb) of the current grids."""
        if not rows:
            raise LookupError("库中没有现行网格，无法重新落格")
        index = PolygonIndex.build([r[0] for r in rows], shapely.from_wkb([r[3] for r in rows]))
        table = [area_codes_of(r[1] or r[0][:12]) for r in rows]
        codes = tuple(np.array([t[level] for t in table] + [None], dtype=object)
                      for level in ("county", "town", "village"))
        grid = np.array([r[0] for r in rows] + [None], dtype=object)
        gen = np.array([r[2] for r in rows] + [np.nan], dtype=float)
        return cls(index, (*codes, grid), gen, pd.Index([r[0] for r in rows]))


@dataclass
class Changes:
    """The partition's records whose codes change: ids, new grid position (-1: outside every grid), the grid code
    they had, and the move log's kind of each (disputes: open or closed)."""

    ids: np.ndarray
    pos: np.ndarray
    old_grid: np.ndarray
    kinds: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def changes_in(part: P.Part, db_url: str, table: str, grids: GridTable) -> Changes:
    """The partition's records whose codes change (`Changes`). Pure: reads only."""
    state = ", state" if table == Dispute.__tablename__ else ""  # the move log tells open and closed disputes apart

    def sql(mark):
        where, params = P.raw_clause("grid_code", part, mark)
        return (f"SELECT id, lon, lat, {', '.join(SET_COLUMNS)}{state} FROM {table} WHERE {where}", params)

    cols = db.fetch_columns(db_url, sql, 3 + len(SET_COLUMNS) + bool(state))
    if not cols[0]:
        return Changes(np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, object), np.empty(0, object))
    ids = np.array(cols[0], dtype=np.int64)
    lon, lat = db.floats(cols[1]), db.floats(cols[2])
    ok = np.isfinite(lon) & np.isfinite(lat)
    pos = np.full(len(ids), -1, np.int32)
    pos[ok] = grids.index.locate(lon[ok], lat[ok])
    change = np.zeros(len(ids), bool)
    for k, stored in enumerate(cols[3:7]):
        change |= grids.codes[k][pos] != np.array(stored, dtype=object)  # None == None
    old_gen, new_gen = db.floats(cols[7]), grids.generation[pos]
    change |= ~((old_gen == new_gen) | (np.isnan(old_gen) & np.isnan(new_gen)))
    change &= ok
    old_grid = np.array(cols[6], dtype=object)[change]
    kinds = (np.array([kind_of(table, st) for st in np.array(cols[-1], dtype=object)[change]], dtype=object)
             if state else np.full(int(change.sum()), kind_of(table), dtype=object))
    return Changes(ids[change], pos[change], old_grid, kinds)


def _task(job: tuple, db_url: str, grids: GridTable):
    part, table = job
    return changes_in(part, db_url, table, grids)


class BoundariesChanged(RuntimeError):
    """A grid commit landed while the job ran: its changes were computed on older boundaries."""


def _generation_mark(session_or_conn) -> int | None:
    return session_or_conn.execute(select(func.max(Generation.id))).scalar()


@dataclass(frozen=True)
class ReassignResult:
    changed: dict[str, int]  # table → records whose codes changed (and were written, unless dry_run)
    partitions: int
    seconds: float
    compute_seconds: float
    moves: int = 0  # grid_move rows written (records whose grid changed; 0 on a dry run)
    recounted: int = 0  # grids whose household tallies were recounted

    def summary(self) -> dict:
        return {"job": "reassign", "changed": self.changed, "changed_total": sum(self.changed.values()),
                "moves": self.moves, "grids_recounted": self.recounted,
                "partitions": self.partitions, "seconds": round(self.seconds, 3),
                "compute_seconds": round(self.compute_seconds, 3)}


def run(db_url: str, client=None, *, dry_run: bool = False, on_result=None,
        grids: GridTable | None = None, counties: str | None = None) -> ReassignResult:
    """Re-assign every located record (see the module doc). `client`: a dask.distributed Client, or None to run
    the partitions in this process. `grids`: boundaries to use instead of the database's current grids (a
    what-if with dry_run; benchmarks/scale.py). `counties`: only the county partitions whose code starts with
    one of these comma-separated prefixes (a part of a province)."""
    t0 = time.perf_counter()
    eng = db.engine_for(db_url)
    with Session(eng) as s:
        mark = _generation_mark(s)
        grids = grids or GridTable.from_session(s)
        partitions = P.county_parts(s)
    if counties:
        wanted = tuple(c.strip() for c in counties.split(",") if c.strip())
        partitions = [p for p in partitions if p[0] == "county" and p[1].startswith(wanted)]
    jobs = [(part, table) for table in TABLES for part in partitions]
    found = cluster.run_tasks(client, _task, jobs, shared={"db_url": db_url, "grids": grids}, on_result=on_result)
    t1 = time.perf_counter()
    changed: dict[str, int] = {t: 0 for t in TABLES}
    rows_by_table: dict[str, list[tuple]] = {t: [] for t in TABLES}
    moves: list[tuple] = []  # (generation, kind, id, from grid, to grid) of the records whose codes change
    touched: set[str] = set()  # grids that gained or lost households
    for (part, table), ch in zip(jobs, found):
        changed[table] += len(ch)
        if len(ch) and not dry_run:
            county, town, village, grid = (c[ch.pos].tolist() for c in grids.codes)
            gen = [None if g != g else int(g) for g in grids.generation[ch.pos].tolist()]
            ids, old = ch.ids.tolist(), ch.old_grid.tolist()
            rows_by_table[table].extend(zip(ids, county, town, village, grid, gen))
            # the boundary generation of the grid moved into (outside every grid: the newest generation, 0 if none)
            moves.extend(zip([(mark or 0) if g is None else g for g in gen], ch.kinds.tolist(), ids, old, grid))
            if table == Household.__tablename__:
                touched.update(c for o, n in zip(old, grid) if o != n for c in (o, n) if c)
    n_moves = n_grids = 0
    if not dry_run and any(rows_by_table.values()):
        with eng.begin() as conn:  # one transaction: all of it or nothing
            if conn.dialect.name == "postgresql":  # no commit may land between the check and the write
                conn.exec_driver_sql("LOCK TABLE generation IN SHARE MODE")
            if _generation_mark(conn) != mark:
                raise BoundariesChanged("作业运行期间有网格调整提交，结果未写入；请重新运行本作业")
            for table, rows in rows_by_table.items():
                db.update_by_id(conn, table, SET_COLUMNS, rows, ["TEXT"] * 4 + ["INTEGER"])
            if moves:
                n_moves = log_moves(conn, *(list(c) for c in zip(*moves)))
            n_grids = recount_grids(conn, touched)
            if conn.dialect.name == "postgresql":  # every console node drops its cached counts
                conn.exec_driver_sql("SELECT pg_notify(%s, %s)", (CHANNEL, "batch:records"))
    return ReassignResult(changed, len(partitions), time.perf_counter() - t0, t1 - t0, n_moves, n_grids)
