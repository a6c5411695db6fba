"""网格: outlines of the current grids inside a town (at village level they are the children; a whole county's
hundreds of outlines would be noise and 300 kB)."""

from __future__ import annotations

from sqlalchemy import select

from console.services import geo
from console.services import permissions as perm
from console.services.areas import AreaNode, current_grid_clause
from console.store import Grid

from .base import Layer, LegendItem


class GridsLayer(Layer):
    def available(self, node: AreaNode) -> bool:
        return node.level == "town"

    def build(self, session, scope, node: AreaNode, **kw) -> dict:
        if not self.available(node):
            return geo.collection([])
        stmt = select(Grid.code, Grid.name, Grid.households, Grid.geom_wkb).where(
            current_grid_clause(), Grid.code.like(f"{node.code}%"))
        feats = [geo.feature(geo.wkb_to_geometry(b, "grid"), {"code": c, "name": n, "households": h}, c)
                 for c, n, h, b in session.execute(stmt)]
        return geo.collection(feats)


LAYER = GridsLayer(
    key="grids", title="网格", permission=perm.LAYER_GRIDS, kind="polygon", default_on=True,
    legend=(LegendItem("网格边界", "#805ad5", "line"),),
)
