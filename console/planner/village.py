"""Reading one village for the planner: outline, grids of any generation, household points, history.

Generations follow MapIt: a grid row is valid from `generation_low` to `generation_high` inclusive
(None: still current). Generation ids are global, so "the village's generation" is the newest
`generation_low` among its current grids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from console.store import Area, Generation, Grid, GridWorker, Household
from console.store.scope import AreaScope
from geodata.planner.draft import DraftGrid, State


class PlannerError(ValueError):
    """Something the planner must be told (Chinese message)."""


class ConflictError(PlannerError):
    """Another commit landed on the village since the draft started."""


@dataclass(frozen=True)
class VillageData:
    code: str
    name: str
    kind: str
    town_code: str
    geometry: shapely.Geometry
    generation: int
    grids: State
    lon: np.ndarray      # household points
    lat: np.ndarray
    size: np.ndarray     # residents per household

    @property
    def households(self) -> int:
        return int(len(self.lon))


def village_row(session: Session, code: str) -> Area:
    row = session.get(Area, code)
    if row is None or row.level != "village":
        raise PlannerError(f"村（社区）{code} 不存在")
    return row


def current_generation(session: Session, village_code: str) -> int:
    gen = session.scalar(select(func.max(Grid.generation_low)).where(
        Grid.village_code == village_code, Grid.generation_high.is_(None)))
    return int(gen or 0)


def _state(rows) -> State:
    return tuple(DraftGrid(r.code, shapely.from_wkb(r.geom_wkb), r.name, r.kind)
                 for r in sorted(rows, key=lambda r: r.code))


def current_grid_rows(session: Session, village_code: str) -> list[Grid]:
    return list(session.scalars(select(Grid).where(Grid.village_code == village_code, Grid.generation_high.is_(None))))


def grids_at(session: Session, village_code: str, generation: int | None = None) -> State:
    """The village's grids as they were in `generation` (None: now)."""
    if generation is None:
        return _state(current_grid_rows(session, village_code))
    rows = session.scalars(select(Grid).where(
        Grid.village_code == village_code, Grid.generation_low <= generation,
        or_(Grid.generation_high.is_(None), Grid.generation_high >= generation)))
    return _state(rows)


def load_outline(session: Session, code: str) -> VillageData:
    """The village without its households (what validation and commit need)."""
    row = village_row(session, code)
    empty = np.zeros(0)
    return VillageData(code, row.name, row.kind or "village", row.parent_code, shapely.from_wkb(row.geom_wkb),
                       current_generation(session, code), grids_at(session, code), empty, empty,
                       np.zeros(0, dtype=np.int64))


def load_village(session: Session, code: str) -> VillageData:
    row = village_row(session, code)
    scope = AreaScope.of([code])
    hh = session.execute(select(Household.lon, Household.lat, Household.size).where(
        scope.clause(Household), Household.lon.is_not(None))).all()
    arr = np.array(hh, dtype=float).reshape(-1, 3)
    return VillageData(code, row.name, row.kind or "village", row.parent_code, shapely.from_wkb(row.geom_wkb),
                       current_generation(session, code), grids_at(session, code), arr[:, 0], arr[:, 1],
                       arr[:, 2].astype(np.int64))


def used_serials(session: Session, village_code: str) -> list[str]:
    """Every serial the village has used in any generation (never handed out again)."""
    codes = session.scalars(select(Grid.code).where(Grid.village_code == village_code).distinct())
    return [c[12:15] for c in codes]


def workers_by_grid(session: Session, codes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for code, name in session.execute(select(GridWorker.grid_code, GridWorker.name).where(
            GridWorker.grid_code.in_(list(codes)))):
        out.setdefault(code, []).append(name)
    return out


def history(session: Session, village_code: str) -> list[dict]:
    """Generations that drew this village's grids, newest first (generation 1 is the initial drawing)."""
    gens = set(session.scalars(select(Grid.generation_low).where(Grid.village_code == village_code).distinct()))
    rows = session.scalars(select(Generation).where(Generation.id.in_(gens)).order_by(Generation.id.desc()))
    current = current_generation(session, village_code)
    return [{"id": g.id, "created_at": g.created_at, "created_by": g.created_by, "reason": g.reason or "",
             "rollback_of": g.rollback_of, "current": g.id == current} for g in rows]
