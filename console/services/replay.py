"""Time replay (时间回放, docs/console.md): which slice of a chosen day or range the slider shows, which grid
generation was in force at that moment, and what happened in the slice — as counts per small map cell.

The window and generation choices are pure; the queries return aggregates (cell, kind, count) inside the
viewer's scope, never a record, so the wall screen may replay too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from console.store import Alert, AreaScope, Dispute, Event, Generation, Grid

from . import geo
from .clock import BEIJING

MAX_DAYS = 92  # one quarter per replay: the slider stays usable and the queries bounded
CELL = 0.005  # degrees (≈ 500 m): the replay and the heat map show where, never who


class ReplayError(ValueError):
    """A range the replay refuses; the message is for the user."""


@dataclass(frozen=True)
class Window:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    position: int
    steps: int


def steps_for(first: date, last: date, step_hours: int) -> int:
    days = (last - first).days + 1
    return max(1, days * 24 // step_hours)


def parse_range(first: str | None, last: str | None) -> tuple[date, date]:
    """Beijing calendar days from the date pickers ("2026-11-20"); the range is checked, not trusted."""
    try:
        a = date.fromisoformat(str(first or "")[:10])
        b = date.fromisoformat(str(last or first or "")[:10])
    except ValueError:
        raise ReplayError("日期格式不正确，请选择开始和结束日期") from None
    if b < a:
        raise ReplayError("结束日期早于开始日期")
    if (b - a).days + 1 > MAX_DAYS:
        raise ReplayError(f"回放范围最长 {MAX_DAYS} 天")
    return a, b


def window(first: date, last: date, position: int, step_hours: int = 1, cumulative: bool = False) -> Window:
    """The slice shown at slider `position` (0-based) of the range first..last (Beijing days), in UTC.

    Each step covers `step_hours`; `cumulative` shows everything from the range's start up to the end of the
    step. A position outside the slider is clamped (a forged callback cannot widen the range)."""
    if step_hours <= 0 or 24 % step_hours:
        raise ReplayError("回放步长须能整除 24 小时")
    steps = steps_for(first, last, step_hours)
    position = min(max(int(position), 0), steps - 1)
    range_start = datetime.combine(first, datetime.min.time()) - BEIJING
    end = range_start + timedelta(hours=step_hours * (position + 1))
    start = range_start if cumulative else end - timedelta(hours=step_hours)
    return Window(start, end, position, steps)


def generation_at(generations: Iterable[tuple[int, datetime]], moment: datetime) -> int | None:
    """The grid generation in force at `moment`: the newest (highest id — generations are numbered in commit order)
    created at or before it. Before the first drawing the first generation stands (records older than the grids
    were assigned with it)."""
    gens = list(generations)
    if not gens:
        return None
    done = [gid for gid, created in gens if created <= moment]
    return max(done) if done else min(gid for gid, _ in gens)


def cells(points: Iterable[tuple[float, float]], cell: float = CELL) -> list[tuple[float, float, int]]:
    """Points → (lon, lat, n) at the centre of their `cell`-degree square: counts, not positions of records."""
    counts: dict[tuple[int, int], int] = {}
    for lon, lat in points:
        if lon is None or lat is None:
            continue
        key = (int(lon // cell), int(lat // cell))
        counts[key] = counts.get(key, 0) + 1
    return [(round((i + 0.5) * cell, 5), round((j + 0.5) * cell, 5), n) for (i, j), n in sorted(counts.items())]


# ---- queries ---------------------------------------------------------------------------------------------------

REPLAY_KINDS = {  # kind: (label, model, time column)
    "events": ("事件", Event, Event.received_at),
    "alerts": ("预警", Alert, Alert.raised_at),
    "disputes": ("矛盾纠纷", Dispute, Dispute.registered_at),
}


def generations(session: Session) -> list[tuple[int, datetime]]:
    return [(g, t) for g, t in session.execute(select(Generation.id, Generation.created_at))]


def activity(session: Session, scope: AreaScope, kinds: Sequence[str], start: datetime, end: datetime,
             cell: float = CELL) -> dict[str, list[tuple[float, float, int]]]:
    """Per kind, the cells with something in [start, end) inside the scope."""
    out = {}
    for kind in kinds:
        _label, model, column = REPLAY_KINDS[kind]
        pts = session.execute(select(model.lon, model.lat).where(scope.clause(model), column >= start, column < end,
                                                                   model.lon.is_not(None)))
        out[kind] = cells(pts, cell)
    return out


class _GridCodes:
    grid_code = Grid.code  # AreaScope.clause filters a `grid_code` column; a grid's own is `code`


def grid_outlines(session: Session, scope: AreaScope, generation: int,
                  bbox: tuple[float, float, float, float] | None = None) -> dict:
    """The grid boundaries valid in `generation` (rows are valid from generation_low to generation_high
    inclusive, docs/planner.md) inside the scope, as a FeatureCollection of outlines."""
    q = select(Grid.code, Grid.name, Grid.generation_low, Grid.geom_wkb).where(
        Grid.generation_low <= generation, or_(Grid.generation_high.is_(None), Grid.generation_high >= generation),
        scope.clause(_GridCodes))
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        q = q.where(Grid.max_lon >= x0, Grid.min_lon <= x1, Grid.max_lat >= y0, Grid.min_lat <= y1)
    feats = [geo.feature(geo.wkb_to_geometry(wkb, "grid"), {"code": code, "name": name, "generation": low})
             for code, name, low, wkb in session.execute(q)]
    return geo.collection(feats)


def count_in(session: Session, scope: AreaScope, kind: str, start: datetime, end: datetime) -> int:
    _label, model, column = REPLAY_KINDS[kind]
    return int(session.scalar(select(func.count()).select_from(model).where(
        scope.clause(model), column >= start, column < end)) or 0)
