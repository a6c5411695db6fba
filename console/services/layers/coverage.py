"""监控覆盖缺口: where the next camera is owed most (docs/video.md "Gap ranking").

One bubble per gap grid, ranked by its gap score (uncovered households + the risk weights of its uncovered key
places), at the weighted centre of what no online camera sees, labelled with the score; the tooltip gives the
rank and what it is made of; clicking drills into the grid. The geometry is `console.video.coverage`.
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


def gap_tooltip(g: dict, name: str) -> str:
    """「缺口第 k 名 网格名：未覆盖 n 户 + 重点场所 高风险 a、较高风险 b（加权 w），覆盖率 …」 — the map appends
    「：<score>」."""
    share = f"，住户覆盖率 {round(100 * g['share'])}%" if g["share"] is not None else ""
    if g["key_places"]:  # key places inside some sector of this grid (docs/safety.md)
        share += f"，重点场所已覆盖 {g['key_places_covered']}/{g['key_places']}"
    risk = g.get("uncovered_places_by_risk") or {}
    places = "、".join(f"{RISK_LEVELS[k]} {risk[k]}" for k in ("high", "medium", "low") if risk.get(k))
    made = f"未覆盖 {g['uncovered']} 户" + (f" + 未覆盖重点场所 {places}（折合 {g['place_weight']:g} 户）" if places else "")
    return f"缺口第 {g['rank']} 名 {name}：{made}{share}；缺口分"


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
            feats.append(geo.feature(geo.point(g["lon"], g["lat"]), {
                "count": max(1, round(g["score"])), "code": g["grid_code"], "rank": g["rank"],
                "area": gap_tooltip(g, names.get(g["grid_code"], g["grid_code"]))}))
        # key places no online camera sees, highest risk first: a dot coloured by risk, its popup the place's
        feats += [geo.feature(geo.point(p["lon"], p["lat"]), {"r": p["risk_level"]}, p["id"])
                  for p in result["uncovered_places"][:MAX_PLACES]]
        return geo.collection(feats)

    def detail(self, session, scope, fid: int) -> list | None:
        return keyplaces.LAYER.detail(session, scope, fid)


LAYER = CoverageGapsLayer(
    key="coverage", title="监控覆盖缺口", permission=perm.LAYER_CAMERAS, kind="point", default_on=False,
    legend=(LegendItem("覆盖缺口分（数字气泡，按网格：未覆盖户数 + 重点场所按风险加权）", "#b7791f", "bubble"),
            *(LegendItem(f"未覆盖的重点场所（{RISK_LEVELS[k]}）", c) for k, c in RISK_COLORS.items())),
    hideout={"layer": "coverage", "bubbleColor": "#b7791f", "colorBy": "r", "colors": RISK_COLORS, "radius": 6},
)
