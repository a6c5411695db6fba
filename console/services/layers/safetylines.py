"""护路护线: railway and expressway sections, each with its responsible grids, coloured by risk level and dashed
for railways (docs/safety.md). Sections are located at their midpoint: the area and the scope go by it."""

from __future__ import annotations

import json

from sqlalchemy import select

from console.services import geo
from console.services import permissions as perm
from console.services.areas import AreaNode, grid_labels, within
from console.store import names
from console.store.codes import LINE_DASH, LINE_KINDS, RISK_COLORS, RISK_LEVELS
from console.store.safety_models import SafetyLine

from .base import Layer, LegendItem, label


class SafetyLinesLayer(Layer):
    model = SafetyLine  # what the popup route reads (and checks the scope of) by feature id
    def build(self, session, scope, node: AreaNode, **kw) -> dict:
        rows = session.execute(select(SafetyLine.id, SafetyLine.name, SafetyLine.kind, SafetyLine.risk_level,
                                      SafetyLine.geometry).where(within(SafetyLine, node, scope))
                               .order_by(SafetyLine.id)).all()
        return geo.collection([geo.feature(json.loads(r.geometry), {"name": r.name, "k": r.kind, "r": r.risk_level},
                                           r.id) for r in rows])

    def detail(self, session, scope, fid: int) -> list | None:
        row = session.get(SafetyLine, fid)
        if row is None or not scope.allows(row.finest_area):
            return None
        grids = grid_labels(session, row.grids.split(","))
        out = [("名称", row.name), ("类别", label(LINE_KINDS, row.kind)), ("风险等级", label(RISK_LEVELS, row.risk_level)),
               ("长度", f"{row.length_m / 1000:.1f} 公里"),
               ("责任网格", "、".join(grids.get(g, g) for g in row.grids.split(",") if g))]
        out += [("数据来源", "演示数据（线位示意，合成）")] if row.synthetic else []
        return out + names.location_rows(session, row)


LAYER = SafetyLinesLayer(
    key="safetylines", title="护路护线", permission=perm.LAYER_SAFETY, kind="line", default_on=False,
    legend=(*(LegendItem(f"{LINE_KINDS[k]}（{'虚线' if d else '实线'}）", "#4a5568", "line") for k, d in LINE_DASH.items()),
            *(LegendItem(f"线路{RISK_LEVELS[k]}", c, "line") for k, c in RISK_COLORS.items() if k != "low")),
    hideout={"layer": "safetylines", "colors": RISK_COLORS, "dash": LINE_DASH},
)
