"""Preview and commit of a draft as a new boundary generation, and rollback to a past one.

A commit is one transaction: it takes the village's write lock, refuses if another commit landed since
the draft started (the planner must rebase) or if the draft has errors, then adds the generation,
retires the changed grids, adds the new ones, re-assigns every located record of the village that
changes grid (stamped with the generation), logs each move, moves grid workers of retired grids to
their successors, and closes the draft. Any failure rolls all of it back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from console.security.guard import Viewer, audit
from console.store import Area, Generation, Grid, GridWorker
from console.store.codes import OPEN_DISPUTE_STATES
from console.store.dialect import placeholder
from console.store.scope import code_range
from geodata.planner import codes as coding, moves as moving, validity
from geodata.planner.draft import State
from geodata.planner.rules import DEFAULT_RULES, Rules, area_m2

from . import drafts
from .movelog import RECORD_KINDS, household_tallies, log_moves
from .village import ConflictError, PlannerError, VillageData, current_generation, grids_at, \
    load_outline, used_serials, workers_by_grid

PREVIEW_KINDS = ("household", "person", "special", "dispute", "camera")


@dataclass
class Preview:
    state: State                         # the draft with every grid coded
    moved: dict[str, moving.Moved]
    pairs: list[dict]                    # (old → new) with counts of PREVIEW_KINDS
    workers: list[dict]
    retired: list[str]                   # codes that end with this commit
    added: list[str]                     # codes that start with it (new or redrawn)
    unchanged: list[str]
    successors: dict[str, str | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.retired and not self.added


def load_records(session: Session, village_code: str) -> dict[str, moving.Records]:
    """id, position and grid of every located record in the village: tens of thousands of rows, so one plain
    DB-API query per kind on the grid-code index (the same range `AreaScope.clause` builds)."""
    conn = session.connection()
    q = placeholder(conn)
    cursor = conn.connection.dbapi_connection.cursor()
    out = {}
    try:
        for kind, (model, extra) in RECORD_KINDS.items():
            sql = f"SELECT id, lon, lat, grid_code FROM {model.__tablename__} WHERE grid_code >= {q} AND grid_code < {q}"
            params: list = list(code_range(village_code))
            if extra is not None:
                states = list(OPEN_DISPUTE_STATES)
                sql += f" AND state {'NOT ' if extra == 'closed' else ''}IN ({', '.join([q] * len(states))})"
                params += states
            cursor.execute(sql, params)
            cols = list(zip(*cursor.fetchall())) or [(), (), (), ()]
            out[kind] = moving.Records(np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=float),  # None → NaN
                                       np.array(cols[2], dtype=float), np.array(cols[3], dtype=object))
    finally:
        cursor.close()
    return out


def preview(session: Session, village: VillageData, state: State) -> Preview:
    current = {g.code: g for g in village.grids}
    coded = coding.assign_codes(village.code, state, used_serials(session, village.code))
    unchanged = [g.code for g in coded if g.code in current and coding.same_shape(g.geometry, current[g.code].geometry)]
    keep = set(unchanged)
    added = [g.code for g in coded if g.code not in keep]
    retired = [c for c in current if c not in keep]
    moved = moving.record_moves(coded, load_records(session, village.code))
    pairs = moving.pair_table({k: moved[k] for k in PREVIEW_KINDS})
    codes_involved = {r["from"] for r in pairs} | {r["to"] for r in pairs} | set(retired) | set(added)
    workers = moving.worker_changes(pairs, workers_by_grid(session, codes_involved))
    new_codes = {g.code for g in coded}
    successors = {c: moving.successor_grid(pairs, c) for c in retired if c not in new_codes}
    return Preview(coded, moved, pairs, workers, retired, added, unchanged, successors)


@dataclass(frozen=True)
class CommitResult:
    generation: int
    added: list[str]
    retired: list[str]
    moved: dict[str, int]
    ms: float


def _lock_village(session: Session, village_code: str) -> None:
    """Serialise commits of one village: a no-op UPDATE takes SQLite's write lock / PostgreSQL's row lock."""
    session.execute(update(Area).where(Area.code == village_code).values(kind=Area.kind))


def commit_state(session: Session, viewer: Viewer, village_code: str, state: State, base_generation: int,
                 reason: str, *, rollback_of: int | None = None, rules: Rules = DEFAULT_RULES,
                 now: datetime | None = None) -> CommitResult:
    """Write `state` as the village's next generation. The caller owns the transaction (commit/rollback)."""
    t0 = time.perf_counter()
    drafts.authorise(viewer, village_code)
    reason = (reason or "").strip()
    if not reason:
        raise PlannerError("请填写调整原因")
    _lock_village(session, village_code)
    if current_generation(session, village_code) != base_generation:
        raise ConflictError("其他规划员已提交了本村（社区）的新网格版本；请基于最新版本重新开始草稿（rebase），"
                            "您的草稿已保留，可导出后再导入")
    village = load_outline(session, village_code)
    problems = validity.errors(validity.validate(village.geometry, state, village_code, rules))
    if problems:
        raise PlannerError("草稿存在错误，不能提交：" + "；".join(
            f"{validity.KIND_LABELS[p.kind]}：{p.message}" for p in problems[:5]))
    pv = preview(session, village, state)
    if pv.empty:
        raise PlannerError("草稿与现行网格完全相同，无需提交")
    now = now or datetime.now()
    gen = Generation(scope_code=village_code, created_at=now, created_by=viewer.username, reason=reason,
                     rollback_of=rollback_of)
    session.add(gen)
    session.flush()
    if pv.retired:
        session.execute(update(Grid).where(Grid.village_code == village_code, Grid.generation_high.is_(None),
                                           Grid.code.in_(pv.retired)).values(generation_high=gen.id - 1))
    counts = {}
    conn = session.connection()
    q = placeholder(conn)
    for kind, m in pv.moved.items():
        counts[kind] = len(m)
        if not len(m):
            continue
        # the DB-API's executemany directly: tens of thousands of rows, SQLAlchemy's per-row parameter
        # processing would cost more than the database work
        table = RECORD_KINDS[kind][0].__tablename__
        ids = m.ids.tolist()
        conn.exec_driver_sql(f"UPDATE {table} SET grid_code = {q}, assign_generation = {q} WHERE id = {q}",
                             [(n, gen.id, i) for n, i in zip(m.new.tolist(), ids)])
        log_moves(conn, gen.id, kind, ids, m.old.tolist(), m.new.tolist())
    tallies = household_tallies(session, pv.added)
    by_code = {g.code: g for g in pv.state}
    session.execute(insert(Grid), [_grid_row(by_code[c], tallies.get(c, (0, 0)), village_code, gen.id, viewer, now)
                                   for c in pv.added])
    # records that stayed in a redrawn grid now belong to its new boundary version too
    for model in {m for m, _ in RECORD_KINDS.values()}:
        session.execute(update(model).where(model.grid_code.in_(pv.added),
                                            model.assign_generation.is_distinct_from(gen.id))
                        .values(assign_generation=gen.id))
    for old, new in pv.successors.items():
        if new:
            session.execute(update(GridWorker).where(GridWorker.grid_code == old).values(grid_code=new))
    audit(viewer, "grid.commit", f"village:{village_code}", detail={
        "generation": gen.id, "added": pv.added, "retired": pv.retired, "moved": counts,
        "rollback_of": rollback_of}, session=session)
    return CommitResult(gen.id, pv.added, pv.retired, counts, (time.perf_counter() - t0) * 1000)


def _grid_row(g, counts: tuple[int, int], village_code: str, gen_id: int, viewer: Viewer, now: datetime) -> dict:
    geom = g.geometry
    minx, miny, maxx, maxy = geom.bounds
    label = geom.representative_point()
    return {"code": g.code, "name": g.name or f"第{int(g.code[12:])}网格", "kind": g.kind,
            "village_code": village_code, "generation_low": gen_id, "generation_high": None,
            "households": counts[0], "residents": counts[1], "drawn_by": viewer.username,
            "drawn_at": now, "geom_wkb": shapely.to_wkb(geom), "min_lon": minx, "min_lat": miny,
            "max_lon": maxx, "max_lat": maxy, "label_lon": label.x, "label_lat": label.y,
            "area_km2": area_m2(geom) / 1e6}


def commit_draft(session: Session, viewer: Viewer, draft_id: int, reason: str, **kw) -> CommitResult:
    row = drafts.get(session, viewer, draft_id, for_update=True)
    result = commit_state(session, viewer, row.village_code, drafts.state_of(row), row.base_generation, reason, **kw)
    row.status = "committed"
    row.title = f"第{result.generation}版"
    row.updated_at = datetime.now()
    return result


def rollback_to(session: Session, viewer: Viewer, village_code: str, generation: int, reason: str,
                **kw) -> CommitResult:
    """Restore a past generation's grids as a NEW generation (history is never deleted)."""
    past = grids_at(session, village_code, generation)
    if not past:
        raise PlannerError(f"第{generation}版中没有本村（社区）的网格")
    base = current_generation(session, village_code)
    return commit_state(session, viewer, village_code, past, base, reason or f"回退到第{generation}版",
                        rollback_of=generation, **kw)
