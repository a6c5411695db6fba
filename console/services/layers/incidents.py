"""突发事件: the active incidents (docs/safety.md), one marker each, coloured by response level, on the
overview and the command-hall screen. The marker carries the level and the town only: no person, no report;
the hall screen gets no popup (the gate refuses record rows to it)."""

from __future__ import annotations

from sqlalchemy import select

from console.duty.feed import local
from console.safety import response_plan
from console.services import geo
from console.services import permissions as perm
from console.services.areas import AreaNode, within
from console.store import names
from console.store.codes import INCIDENT_STATES
from console.store.safety_models import Incident

from .base import Layer, LegendItem, label

LEVEL_COLORS = {"I": "#9b2c2c", "II": "#dd6b20", "III": "#d69e2e", "IV": "#3182ce"}
LEVEL_GLYPHS = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}


class IncidentsLayer(Layer):
    model = Incident  # what the popup route reads (and checks the scope of) by feature id
    def build(self, session, scope, node: AreaNode, **kw) -> dict:
        rows = session.execute(select(Incident.id, Incident.level, Incident.lon, Incident.lat, Incident.town_code)
                               .where(Incident.state == "active", Incident.lon.is_not(None),
                                      within(Incident, node, scope)).order_by(Incident.id)).all()
        towns = names.names(session, {r.town_code for r in rows if r.town_code})
        return geo.collection([geo.feature(geo.point(r.lon, r.lat), {
            "l": r.level, "alert": True,
            "area": f"{response_plan.LEVELS[r.level].label}突发事件 · {towns.get(r.town_code, '')}"}, r.id) for r in rows])

    def detail(self, session, scope, fid: int) -> list | None:
        row = session.get(Incident, fid)
        if row is None or not scope.allows(row.finest_area):
            return None
        return [("事件", row.title), ("响应级别", response_plan.LEVELS[row.level].label),
                ("状态", label(INCIDENT_STATES, row.state)), ("启动时间（北京）", local(row.raised_at, "%Y-%m-%d %H:%M")),
                ("指挥页", f"/incident?id={row.id}")] + names.location_rows(session, row)


LAYER = IncidentsLayer(
    key="incidents", title="突发事件", permission=perm.LAYER_INCIDENTS, kind="point", default_on=True,
    legend=tuple(LegendItem(lv.label, LEVEL_COLORS[k], "glyph", LEVEL_GLYPHS[k]) for k, lv in response_plan.LEVELS.items()),
    hideout={"layer": "incidents", "glyphBy": "l", "glyphs": LEVEL_GLYPHS, "colorBy": "l", "colors": LEVEL_COLORS},
)
