"""社会组织 / 非公有制企业."""

from __future__ import annotations

from console.services import permissions as perm
from console.store import Organisation
from console.store.codes import CONCERN_LEVELS, ORG_KINDS, ORG_STATUS
from console.store.masking import mask_address, mask_name

from .base import LegendItem, PointLayer, label, revealable

KIND_COLORS = {"social": "#319795", "enterprise": "#2b6cb0"}
GLYPHS = {"social": "社", "enterprise": "企"}


def _describe(o: Organisation) -> list:
    return [("名称", o.name), ("类型", label(ORG_KINDS, o.kind)), ("统一社会信用代码", o.credit_code),
            revealable("法定代表人", mask_name(o.legal_rep), "org", o.id, "legal_rep"),
            revealable("地址", mask_address(o.address), "org", o.id, "address"), ("状态", label(ORG_STATUS, o.status)),
            ("关注程度", label(CONCERN_LEVELS, o.concern_level)), ("从业人数", str(o.employees))]


LAYER = PointLayer(
    key="orgs", title="社会组织/企业", permission=perm.LAYER_ORGS, kind="point", default_on=False,
    model=Organisation, columns=("kind",), props=lambda r: {"k": r.kind}, describe=_describe, min_level="town",
    bubble_color="#285e61", bubble_label="组织/企业个数",
    legend=tuple(LegendItem(ORG_KINDS[k], c, "glyph", GLYPHS[k]) for k, c in KIND_COLORS.items()),
    hideout={"layer": "orgs", "bubbleOffset": [24, 60], "glyphBy": "k", "glyphs": GLYPHS, "colorBy": "k", "colors": KIND_COLORS,
             "square": True},
)
