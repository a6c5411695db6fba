"""监控覆盖缺口: where the next camera would cover most (docs/video.md "Coverage").

One bubble per grid with households outside every online camera's view sector, at the centre of those
households, labelled with how many; clicking drills into the grid. The geometry is `console.video.coverage`.
"""

from __future__ import annotations

from sqlalchemy import select

from console.services import geo
from console.services import permissions as perm
from console.services.areas import AreaNode, current_grid_clause
from console.store import Grid
from console.store.codes import RISK_COLORS, RISK_LEVELS
from console.store.safety_models import KeyPlace
from console.video.coverage_service import scoped_coverage

from . import keyplaces
from .base import Layer, LegendItem

TOP = 40  # grids shown per area: the worst gaps
MAX_PLACES = 300  # uncovered key places shown per area


class CoverageGapsLayer(Layer):
    model = KeyPlace  # the features with an id are the uncovered key places; the popup route reads them
    def available(self, node: AreaNode) -> bool:
        return node.level in ("county", "town", "village")

    def build(self, session, scope, node: AreaNode, **kw) -> dict:
        if not self.available(node):
            return geo.collection([])
        result = scoped_coverage(session, scope, node.code, top=TOP)
        gaps = result["gaps"]
        names = dict(session.execute(select(Grid.code, Grid.name).where(
            current_grid_clause(), Grid.code.in_([g["grid_code"] for g in gaps]))).all()) if gaps else {}
        feats = []
        for g in gaps:
            share = f"，覆盖率 {round(100 * g['share'])}%" if g["share"] is not None else ""
            if g["key_places"]:  # key places inside some sector of this grid (docs/safety.md)
                share += f"，重点场所已覆盖 {g['key_places_covered']}/{g['key_places']}"
            feats.append(geo.feature(geo.point(g["lon"], g["lat"]), {
                "count": g["uncovered"], "code": g["grid_code"],
                "area": f"{names.get(g['grid_code'], g['grid_code'])}（共 {g['households']} 户{share}）未覆盖户数"}))
        # key places no online camera sees, highest risk first: a dot coloured by risk, its popup the place's
        feats += [geo.feature(geo.point(p["lon"], p["lat"]), {"r": p["risk_level"]}, p["id"])
                  for p in result["uncovered_places"][:MAX_PLACES]]
        return geo.collection(feats)

    def detail(self, session, scope, fid: int) -> list | None:
        return keyplaces.LAYER.detail(session, scope, fid)


LAYER = CoverageGapsLayer(
    key="coverage", title="监控覆盖缺口", permission=perm.LAYER_CAMERAS, kind="point", default_on=False,
    legend=(LegendItem("未覆盖住户数（数字气泡，按网格）", "#b7791f", "bubble"),
            *(LegendItem(f"未覆盖的重点场所（{RISK_LEVELS[k]}）", c) for k, c in RISK_COLORS.items())),
    hideout={"layer": "coverage", "bubbleColor": "#b7791f", "colorBy": "r", "colors": RISK_COLORS, "radius": 6},
)
