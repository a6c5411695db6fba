"""公共安全重点场所台账 (docs/safety.md): schools, hospitals, hazardous sites, petrol stations, delivery points and
markets with their risk level. One table, keyed by 场所编号; placed by coordinates (or a registered building's
address) like every located kind, so the responsible grid is the grid the place lies in."""

from __future__ import annotations

from console.ledgers.reader import Column, LedgerSpec
from console.store.codes import KEY_PLACE_KINDS, KIND_ALIASES, RISK_ALIASES, RISK_LEVELS
from console.store.safety_models import KeyPlace

from . import values as v
from .kinds import LOCATION_COLUMNS, Converted, LedgerKind, _collect


def _place(values: dict) -> Converted:
    out: dict = {}
    problems: list[str] = []
    _collect(out, problems, "code", v.record_code(values.get("code"), "场所编号"))
    _collect(out, problems, "name", v.plain(values.get("name"), 128, "场所名称"))
    if not out.get("name", "x"):
        problems.append("场所名称不能为空")
    _collect(out, problems, "kind", v.code(values.get("kind"), KEY_PLACE_KINDS, "场所类别", KIND_ALIASES))
    _collect(out, problems, "risk_level", v.code(values.get("risk_level") or "一般风险", RISK_LEVELS, "风险等级",
                                                 RISK_ALIASES))
    _collect(out, problems, "address", v.plain(values.get("address", ""), 128, "地址"))
    _collect(out, problems, "contact", v.plain(values.get("contact", ""), 32, "安全负责人"))
    out["synthetic"] = False
    return out, problems


KEY_PLACES = LedgerKind(
    key="key_place", label="公共安全重点场所台账", model=KeyPlace, natural_key="code", convert=_place,
    compared=("name", "kind", "risk_level", "address", "contact", "lon", "lat"),
    spec=LedgerSpec("公共安全重点场所台账", (
        Column("code", "场所编号", True, ("编号", "场所编码", "单位编号")),
        Column("name", "场所名称", True, ("单位名称", "名称", "重点场所名称")),
        Column("kind", "场所类别", True, ("类别", "场所类型", "类型")),
        Column("risk_level", "风险等级", False, ("风险级别", "等级")),
        Column("address", "地址", False, ("详细地址", "场所地址", "所在地址")),
        Column("contact", "安全负责人", False, ("负责人", "治安负责人")),
        *LOCATION_COLUMNS,
    )))
