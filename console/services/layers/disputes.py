"""矛盾纠纷: colour by status (open / overdue-prone / closed), glyph by category."""

from __future__ import annotations

from console.services import permissions as perm
from console.store import Dispute
from console.store.codes import DISPUTE_CATEGORIES, DISPUTE_STATES, OPEN_DISPUTE_STATES, RISK_GRADES

from .base import LegendItem, PointLayer, label

STATUS_COLORS = {"open": "#e53e3e", "closed": "#718096", "high": "#9b2c2c"}


def _props(r) -> dict:
    status = "open" if r.state in OPEN_DISPUTE_STATES else "closed"
    if status == "open" and r.risk_grade == "high":
        status = "high"
    return {"s": status, "g": DISPUTE_CATEGORIES.get(r.category, "其他")[0]}


def _fmt(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _describe(d: Dispute) -> list:
    return [("编号", d.code), ("事项", d.title), ("类别", label(DISPUTE_CATEGORIES, d.category)),
            ("状态", label(DISPUTE_STATES, d.state)), ("风险", label(RISK_GRADES, d.risk_grade)),
            ("涉及人数", str(d.scale)), ("登记时间", _fmt(d.registered_at)), ("办理期限", _fmt(d.deadline)),
            ("承办", d.department or ""), ("地点", d.place)]


LAYER = PointLayer(
    key="disputes", title="矛盾纠纷", permission=perm.LAYER_DISPUTES, kind="point", default_on=True,
    model=Dispute, columns=("state", "category", "risk_grade"), props=_props, describe=_describe,
    min_level="county", bubble_color="#c05621", bubble_label="纠纷件数（含已办结）",
    legend=(LegendItem("在办", STATUS_COLORS["open"]), LegendItem("在办·高风险", STATUS_COLORS["high"]),
            LegendItem("已办结", STATUS_COLORS["closed"])),
    hideout={"layer": "disputes", "bubbleOffset": [24, 26], "glyphBy": "g", "colorBy": "s", "colors": STATUS_COLORS, "square": True},
)
