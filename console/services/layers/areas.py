"""行政区划: the children of the current area (or, at grid level, the village's grids), canvas polygons.

Properties carry the residents per area so that the 实有人口 layer can turn this into a choropleth
by restyling through `hideout` instead of sending the polygons again. Each area carries its label point (inside the
polygon, `console.services.labelpoint`) and its size, which decides which label yields where labels would overlap.
"""

from __future__ import annotations

from sqlalchemy import select

from console.services import geo
from console.services import permissions as perm
from console.services.areas import AreaNode, current_grid_clause, get_node
from console.services.labelpoint import label_point_wkb
from console.store import Area, Grid

from .base import Layer, LegendItem


class AreasLayer(Layer):
    def build(self, session, scope, node: AreaNode, *, counts: dict | None = None, **kw) -> dict:
        counts = counts or {}
        parent = node
        if node.level == "grid":
            parent = get_node(session, node.parent_code) or node
        if parent.level == "village":
            rows = session.execute(select(Grid.code, Grid.name, Grid.area_km2, Grid.geom_wkb)
                                   .where(Grid.village_code == parent.code, current_grid_clause())).all()
            level = "grid"
        elif parent.level == "grid":
            rows, level = [], "grid"
        else:
            rows = session.execute(select(Area.code, Area.name, Area.area_km2, Area.geom_wkb)
                                   .where(Area.parent_code == parent.code)).all()
            level = {"city": "county", "county": "town", "town": "village"}[parent.level]
        feats = []
        for code, name, km2, blob in rows:
            if not parent.shows(code):  # a scope of several areas: only its parts are drawn, named and counted
                continue
            n = counts.get(code, 0)
            props = {"code": code, "name": name, "parent": parent.code, "level": level, "residents": n,
                     "density": round(n / km2, 1) if km2 else 0, "km2": round(km2 or 0, 3),
                     "label": label_point_wkb(blob)}
            feats.append(geo.feature(geo.wkb_to_geometry(blob, level), props, code))
        return geo.collection(feats)


LAYER = AreasLayer(
    key="areas", title="行政区划", permission=perm.LAYER_AREAS, kind="polygon", default_on=True,
    legend=(LegendItem("下级区划（点击进入）", "#2b6cb0", "square"), LegendItem("当前选中", "#e53e3e", "square")),
)
