"""热点网格: the grids where disputes repeat in a period, ranked, with the change against the period before
(of the same length) and where each grid is by name (docs/disputes.md, "统计研判"). Reads take the viewer's
AreaScope; ranking is pure (`rank`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from console.store import AreaScope, Dispute, names
from console.store.areas import Grid

from .stats import Period

LIMIT = 20
MIN_COUNT = 2  # one case is not a hot spot; two in the same grid in one period is a repeat


def previous(period: Period) -> Period:
    """The period of the same length just before `period`."""
    days = (period.until - period.since).days + 1
    return Period(period.since - timedelta(days=days), period.since - timedelta(days=1))


def rank(current: dict[str, int], before: dict[str, int], *, limit: int = LIMIT,
         min_count: int = MIN_COUNT) -> list[dict]:
    """Grids with at least `min_count` cases, most first (ties: the larger rise first, then by code), at most
    `limit`; each with its rank, count, the previous period's count and the change."""
    hot = [(code, n) for code, n in current.items() if code and n >= min_count]
    hot.sort(key=lambda cn: (-cn[1], -(cn[1] - before.get(cn[0], 0)), cn[0]))
    return [{"rank": i + 1, "code": code, "count": n, "before": before.get(code, 0), "change": n - before.get(code, 0)}
            for i, (code, n) in enumerate(hot[:limit])]


def change_text(change: int, before: int) -> str:
    """"+3" / "−2" / "持平", and "新出现" for a grid with no case in the period before."""
    if before == 0 and change > 0:
        return f"+{change}（新出现）"
    if change > 0:
        return f"+{change}"
    if change < 0:
        return f"−{-change}"
    return "持平"


def _counts(session, scope: AreaScope, period: Period, codes=None) -> dict[str, int]:
    stmt = (select(Dispute.grid_code, func.count(Dispute.id))
            .where(scope.clause(Dispute), Dispute.registered_at >= period.start, Dispute.registered_at < period.end,
                   Dispute.grid_code.is_not(None)).group_by(Dispute.grid_code))
    if codes is not None:
        stmt = stmt.where(Dispute.grid_code.in_(list(codes)))
    return dict(session.execute(stmt).all())


def hot_grids(session, scope: AreaScope, period: Period, area: str | None = None, *, limit: int = LIMIT) -> list[dict]:
    """The ranked hot grids of the period (under `area` when given): `rank` rows plus the grid's, village's and
    town's and county's names, the change as text, and the grid's bounding box [[south, west], [north, east]]."""
    current = _counts(session, scope, period)
    if area:
        current = {c: n for c, n in current.items() if c.startswith(area)}
    before = _counts(session, scope, previous(period), [c for c, n in current.items() if n >= MIN_COUNT])
    rows = rank(current, before, limit=limit)
    codes = [r["code"] for r in rows]
    known = names.names(session, codes + [c[:n] for c in codes for n in (6, 9, 12)])
    boxes = {}
    if codes:
        # the grid as drawn today (a redrawn grid keeps its code); oldest generation first so the current one wins
        for code, *box in session.execute(select(Grid.code, Grid.min_lat, Grid.min_lon, Grid.max_lat, Grid.max_lon)
                                          .where(Grid.code.in_(codes)).order_by(Grid.generation_low)):
            boxes[code] = [[box[0], box[1]], [box[2], box[3]]]
    for r in rows:
        c = r["code"]
        r.update(grid=known.get(c, c), village=known.get(c[:12], ""), town=known.get(c[:9], ""), county=known.get(c[:6], ""),
                 change_text=change_text(r["change"], r["before"]), bounds=boxes.get(c))
    return rows
