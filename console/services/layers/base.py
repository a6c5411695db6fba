"""The one shape every map layer has: query (scoped) → GeoJSON → style (JS functions + hideout + legend).

Point layers are served by URL from `console.routes.layers` and clustered in the browser
(supercluster); above their `min_level` they send one count bubble per child area instead of points,
so no view ever ships a city's worth of records. Popup details are fetched per feature on click.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from console.store import names
from console.services import geo
from console.services.areas import CHILD_COLUMN, AreaNode, children, current_grid_clause, level_index
from console.services.areas import within
from console.services.labelpoint import label_point_wkb
from console.store import Area, AreaScope, Grid


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    shape: str = "circle"  # circle | square | line | glyph | bubble (a count bubble, "12" in the swatch)
    glyph: str = ""


@dataclass(frozen=True)
class Layer:
    key: str
    title: str
    permission: str
    kind: str  # "polygon" | "point"
    default_on: bool = False
    legend: tuple[LegendItem, ...] = ()
    hideout: dict = field(default_factory=dict)  # static style parameters handed to the JS functions

    def available(self, node: AreaNode) -> bool:
        return True

    def build(self, session: Session, scope: AreaScope, node: AreaNode, **kw) -> dict:
        raise NotImplementedError

    def detail(self, session: Session, scope: AreaScope, fid: int) -> list | None:
        """Popup rows [(label, masked text[, reveal])] for one feature, or None when it is not in scope."""
        return None


Props = Callable[[object], dict]
Detail = Callable[[object], list]


@dataclass(frozen=True)
class PointLayer(Layer):
    model: type | None = None
    columns: tuple[str, ...] = ()  # model columns selected beside id/lon/lat
    props: Props = lambda row: {}
    describe: Detail | None = None
    min_level: str = "county"  # points from this level down; count bubbles above
    max_level: str = "grid"
    extra_where: Callable | None = None
    # Count bubbles (one per child area above min_level, and the clusters below it): their colour is one no
    # point symbol of any layer uses, and the legend says what the number counts.
    bubble_color: str = "#4a5568"
    bubble_label: str = ""

    def __post_init__(self):
        item = LegendItem(f"{self.bubble_label or self.title}（数字气泡）", self.bubble_color, "bubble")
        object.__setattr__(self, "legend", tuple(self.legend) + (item,))
        object.__setattr__(self, "hideout", dict(self.hideout, bubbleColor=self.bubble_color))

    def available(self, node: AreaNode) -> bool:
        return level_index(node.level) <= level_index(self.max_level)

    def _filter(self, node: AreaNode, scope: AreaScope):
        clause = within(self.model, node, scope)
        if self.extra_where is not None:
            clause = and_(clause, self.extra_where(self.model))
        return clause

    def build(self, session: Session, scope: AreaScope, node: AreaNode, *, max_points: int = 3000, **kw) -> dict:
        """Points for the area, or one count bubble per child area when the area is above the layer's level
        or holds more than `max_points` records (so one view never ships more than that many points)."""
        from sqlalchemy import func

        if level_index(node.level) < level_index(self.min_level):
            return self._bubbles(session, scope, node)
        if node.level != "grid":
            total = session.scalar(select(func.count()).select_from(self.model).where(self._filter(node, scope)))
            if total > max_points:
                return self._bubbles(session, scope, node)
        m = self.model
        cols = [m.id, m.lon, m.lat] + [getattr(m, c) for c in self.columns]
        stmt = select(*cols).where(self._filter(node, scope), m.lon.is_not(None)).limit(max_points)
        feats = [geo.feature(geo.point(r.lon, r.lat), self.props(r), r.id) for r in session.execute(stmt)]
        return geo.collection(feats)

    def _bubbles(self, session: Session, scope: AreaScope, node: AreaNode) -> dict:
        from sqlalchemy import func

        col = getattr(self.model, CHILD_COLUMN[node.level])
        counts = dict(session.execute(select(col, func.count()).where(self._filter(node, scope)).group_by(col)).all())
        kids = [c for c in children(session, node) if counts.get(c.code)]
        at = label_points(session, [c.code for c in kids])
        feats = []
        for child in kids:
            # beside the child's label (inside its polygon), not at its box's centre, which may lie outside
            lon, lat = at.get(child.code) or ((child.bbox[0] + child.bbox[2]) / 2, (child.bbox[1] + child.bbox[3]) / 2)
            feats.append(geo.feature(geo.point(lon, lat), {"count": counts[child.code], "area": child.name,
                                                           "code": child.code}))
        return geo.collection(feats)

    def detail(self, session: Session, scope: AreaScope, fid: int) -> list | None:
        row = session.get(self.model, fid)
        if row is None or not scope.allows(row.finest_area):
            return None
        # where it is, by name (never the codes), after what it is
        return (self.describe(row) if self.describe else []) + names.location_rows(session, row)


def label_points(session: Session, codes: list[str]) -> dict[str, tuple[float, float]]:
    """{code: label point} of areas and current grids (the point their map label sits at)."""
    areas = [c for c in codes if len(c) < 15]
    grids = [c for c in codes if len(c) == 15]
    rows = list(session.execute(select(Area.code, Area.geom_wkb).where(Area.code.in_(areas)))) if areas else []
    if grids:
        rows += session.execute(select(Grid.code, Grid.geom_wkb).where(Grid.code.in_(grids), current_grid_clause()))
    return {code: pt for code, blob in rows if blob and (pt := label_point_wkb(blob))}


def revealable(title: str, masked: str, kind: str, record_id: int, field: str) -> tuple:
    """A popup row shown masked whose full value a permitted user may ask for (「显示」 → POST /api/unmask:
    permission, scope and audit are checked there, `console.services.unmask`)."""
    return (title, masked, {"kind": kind, "id": record_id, "field": field})


def label(table: dict, key) -> str:
    return table.get(key, str(key) if key is not None else "")
