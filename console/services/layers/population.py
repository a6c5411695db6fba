"""实有人口: a choropleth of residents above village level (restyles the 行政区划 layer through its hideout),
clustered household points at village and grid level."""

from __future__ import annotations

from console.services import choropleth
from console.services import permissions as perm
from console.store import Household
from console.store.codes import HOUSEHOLD_KINDS
from console.store.masking import mask_address, mask_name

from .base import LegendItem, PointLayer, label, revealable

KIND_COLORS = {"registered": "#3182ce", "rental": "#dd6b20", "foreign": "#38a169"}
CHOROPLETH_COLORS = choropleth.COLORS


def _describe(h: Household) -> list:
    rows = [("户号", h.code), ("类型", label(HOUSEHOLD_KINDS, h.kind)), ("人数", str(h.size)),
            revealable("地址", mask_address(h.address), "household", h.id, "address"),
            ("出租房", "是" if h.is_rental else "否")]
    if h.is_rental and h.landlord_name:
        rows.append(revealable("房东", mask_name(h.landlord_name), "household", h.id, "landlord_name"))
    return rows


LAYER = PointLayer(
    key="population", title="实有人口", permission=perm.LAYER_POPULATION, kind="point", default_on=False,
    model=Household, columns=("kind", "size"), props=lambda r: {"k": r.kind, "n": r.size},
    describe=_describe, min_level="village", bubble_color="#975a16", bubble_label="住户数",
    legend=tuple(LegendItem(HOUSEHOLD_KINDS[k], c) for k, c in KIND_COLORS.items()),  # above: bands (choropleth)
    hideout={"layer": "population", "bubbleOffset": [0, 26], "colorBy": "k", "colors": KIND_COLORS, "radius": 5},
)


choropleth_breaks = choropleth.quantile_breaks
