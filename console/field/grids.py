"""The worker's grids: which grid a record belongs to, and the refusal when it is not one of the worker's."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import AccessDenied, Viewer
from console.store import Grid

from .codes import ACCURACY_LIMIT_M
from .validation import FieldError, Location


@dataclass(frozen=True)
class GridRef:
    code: str
    name: str
    village_code: str
    generation: int

    def located(self) -> dict:
        """The denormalised area codes every located record carries."""
        return dict(grid_code=self.code, village_code=self.village_code, town_code=self.village_code[:9],
                    county_code=self.village_code[:6], assign_generation=self.generation)


def _ref(g: Grid) -> GridRef:
    return GridRef(g.code, g.name, g.village_code, g.generation_low)


def current_grid(session: Session, code: str) -> Grid | None:
    """Memoised per session: a batch names the same few grids again and again."""
    memo = session.info.setdefault("field_current_grids", {})
    if code not in memo:
        memo[code] = session.scalar(select(Grid).where(Grid.code == code, Grid.generation_high.is_(None)))
    return memo[code]


def worker_grids(session: Session, viewer: Viewer) -> list[Grid]:
    """The current grids inside the viewer's scope (a 网格员's scope is its own grids)."""
    scope = viewer.scope
    if not scope.codes:
        return []
    within = true() if scope.is_city else or_(*(Grid.code.startswith(c) for c in sorted(scope.codes)))
    return list(session.scalars(select(Grid).where(Grid.generation_high.is_(None), within).order_by(Grid.code)))


def refuse_grid(viewer: Viewer, code: str, name: str = "", what: str = "") -> FieldError:
    """Audit the refusal and name the grid (and the record, `what`) in the message (403)."""
    try:
        guard.require_area(viewer, code, f"field:grid:{code}")
    except AccessDenied:
        pass
    label = f"{name}（{code}）" if name else code
    if what:
        return FieldError(f"{what}属于网格 {label}，不是您负责的网格，不能在该网格打卡或记录", 403, "grid_not_yours")
    return FieldError(f"网格 {label} 不是您负责的网格，不能上报或修改该网格的记录", 403, "grid_not_yours")


def own_grid(session: Session, viewer: Viewer, code: str) -> GridRef:
    grid = current_grid(session, code)
    if not viewer.sees(code):
        raise refuse_grid(viewer, code, grid.name if grid else "")
    if grid is None:
        raise FieldError(f"网格 {code} 不存在或已调整，请刷新网格数据后重试", 422, "grid_unknown")
    return _ref(grid)


def usable_fix(location: Location | None) -> bool:
    """May this location pick a grid? A map pick yes; a GPS fix only when its accuracy is known and fine."""
    if location is None:
        return False
    if location.source == "map":
        return True
    return location.accuracy is not None and location.accuracy <= ACCURACY_LIMIT_M


def coarse(location: Location | None) -> bool:
    """Stored and flagged: a GPS fix without an accuracy or coarser than the limit."""
    return location is not None and location.source == "gps" and not usable_fix(location)


def grid_at(session: Session, viewer: Viewer, location: Location) -> GridRef:
    """The worker's grid containing the point (only ever called with a usable fix)."""
    point = shapely.Point(location.lon, location.lat)
    for grid in worker_grids(session, viewer):
        if (grid.min_lon <= point.x <= grid.max_lon and grid.min_lat <= point.y <= grid.max_lat
                and shapely.from_wkb(grid.geom_wkb).covers(point)):
            return _ref(grid)
    raise FieldError("该位置不在您负责的网格内，请选择网格或重新定位", 403, "location_outside")
