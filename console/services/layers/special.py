"""特殊人群: one glyph per category, colour by risk grade; mental-disorder danger level ≥ 3 stands out."""

from __future__ import annotations

from console.services import permissions as perm
from console.store import SpecialPerson
from console.duty.rules import mental_risk_alert_level
from console.store.codes import MENTAL_RISK_LEVELS, RISK_GRADES, SPECIAL_CATEGORIES

from .base import LegendItem, PointLayer, label

GLYPHS = {"released": "释", "correction": "矫", "drug": "毒", "mental": "精", "aids": "艾"}
RISK_COLORS = {"low": "#38a169", "medium": "#d69e2e", "high": "#e53e3e"}


def _props(r) -> dict:
    props = {"c": r.category, "r": r.risk_grade}
    if r.category == "mental" and (r.risk_level or 0) >= mental_risk_alert_level():
        props["alert"] = 1
    return props


def _describe(s: SpecialPerson) -> list:
    # Minimisation: the map popup tells what and how risky, not who; the person record is elsewhere.
    rows = [("类别", label(SPECIAL_CATEGORIES, s.category)), ("风险等级", label(RISK_GRADES, s.risk_grade)),
            ("状态", s.status), ("列管日期", s.since.isoformat() if s.since else "")]
    if s.category == "mental" and s.risk_level is not None:
        rows.insert(2, ("危险性评估", MENTAL_RISK_LEVELS.get(s.risk_level, str(s.risk_level))))
    return rows


LAYER = PointLayer(
    key="special", title="特殊人群", permission=perm.LAYER_SPECIAL, kind="point", default_on=True,
    model=SpecialPerson, columns=("category", "risk_grade", "risk_level"), props=_props, describe=_describe,
    min_level="county", bubble_color="#553c9a", bubble_label="特殊人群人数",
    legend=tuple(LegendItem(name, "#4a5568", "glyph", GLYPHS[k]) for k, name in SPECIAL_CATEGORIES.items())
    + tuple(LegendItem(f"{g}风险", c) for g, c in ((RISK_GRADES[k], v) for k, v in RISK_COLORS.items()))
    + (LegendItem("精神障碍 危险性≥3级", "#e53e3e", "glyph", "!"),),
    hideout={"layer": "special", "bubbleOffset": [-24, 26], "glyphBy": "c", "glyphs": GLYPHS, "colorBy": "r", "colors": RISK_COLORS},
)
