"""不重不漏: the validity checks of a draft, each a pure function `(village, state, rules) -> [Problem]`.

Errors block a commit; warnings (an empty grid, a grid outside the household band) do not. Every
problem carries the geometry to draw on the map where that makes sense (the gap, the overlap).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .draft import State
from .rules import DEFAULT_RULES, Rules, area_m2, m_to_deg

ERROR, WARNING = "error", "warning"

KIND_LABELS = {
    "invalid": "边界无效", "multipart": "不连通", "outside": "超出村界", "overlap": "重叠", "gap": "空隙",
    "sliver": "碎片", "hole": "内洞", "codes": "编码冲突",
}


@dataclass(frozen=True)
class Problem:
    kind: str                          # KIND_LABELS key
    message: str                       # Chinese, names the grids
    grids: tuple[int, ...] = ()        # indices into the state
    geometry: BaseGeometry | None = field(default=None, compare=False)
    severity: str = ERROR
    area_m2: float = 0.0


def check_invalid(village, state: State, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    out = []
    for i, g in enumerate(state):
        geom = g.geometry
        if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            out.append(Problem("invalid", f"网格 {g.label} 没有有效的面", (i,)))
        elif not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            where = shapely.get_coordinates(shapely.make_valid(geom).boundary)[:1]
            out.append(Problem("invalid", f"网格 {g.label} 的边界无效（{reason}）", (i,),
                               shapely.points(where[0]) if len(where) else None))
    return out


def check_multipart(village, state: State, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    out = []
    for i, g in enumerate(state):
        parts = shapely.get_parts(g.geometry)
        if len(parts) > 1:
            out.append(Problem("multipart", f"网格 {g.label} 分成 {len(parts)} 块互不相连的区域", (i,), g.geometry))
    return out


def check_outside(village, state: State, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    out = []
    for i, g in enumerate(_valid(state)):
        if g is None:
            continue
        extra = shapely.difference(g.geometry, village)
        a = area_m2(extra)
        if a > rules.tolerance_m2:
            out.append(Problem("outside", f"网格 {state[i].label} 有 {a:,.0f} 平方米超出村（社区）界", (i,), extra,
                               area_m2=a))
    return out


def check_overlap(village, state: State, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    grids = _valid(state)
    idx = [i for i, g in enumerate(grids) if g is not None]
    if len(idx) < 2:
        return []
    geoms = np.array([grids[i].geometry for i in idx], dtype=object)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = a < b
    out = []
    for p, q in zip(a[keep], b[keep]):
        inter = shapely.intersection(geoms[p], geoms[q])
        m2 = area_m2(inter)
        if m2 > rules.tolerance_m2:
            i, j = idx[p], idx[q]
            out.append(Problem("overlap", f"网格 {state[i].label} 与 {state[j].label} 重叠 {m2:,.0f} 平方米", (i, j),
                               inter, area_m2=m2))
    return out


def _neighbours(piece, grids: list, rules: Rules) -> tuple[int, ...]:
    """Indices of the grids touching a gap (within the snap distance), longest shared border first."""
    near = shapely.buffer(piece, m_to_deg(rules.snap_m))
    found = [(i, shapely.intersection(g.geometry.boundary, near).length) for i, g in enumerate(grids)
             if g is not None and shapely.intersects(g.geometry, near)]
    return tuple(i for i, _ in sorted(found, key=lambda f: -f[1]))


def _where(neighbours: tuple[int, ...], state: State) -> str:
    if not neighbours:
        return "，不与任何网格相邻"
    names = "、".join(f"“{state[i].label}”" for i in neighbours[:4])
    more = f"等 {len(neighbours)} 个网格" if len(neighbours) > 4 else ""
    return f"，位于{names}{more}之间" if len(neighbours) > 1 else f"，紧邻网格{names}"


def check_gap(village, state: State, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    grids = _valid(state)
    geoms = [g.geometry for g in grids if g is not None]
    covered = shapely.union_all(geoms) if geoms else None
    rest = village if covered is None else shapely.difference(village, covered)
    out = []
    for piece in shapely.get_parts(rest):
        if piece.geom_type != "Polygon":
            continue
        m2 = area_m2(piece)
        if m2 > rules.tolerance_m2:
            p = piece.representative_point()
            near = _neighbours(piece, grids, rules)
            out.append(Problem("gap", f"有 {m2:,.0f} 平方米未划入任何网格{_where(near, state)}（约在 {p.x:.5f}, {p.y:.5f}）",
                               (), piece, area_m2=m2))
    return out


def check_sliver(village, state: State, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    out = []
    for i, g in enumerate(state):
        m2 = area_m2(g.geometry)
        if 0 < m2 < rules.sliver_m2:
            out.append(Problem("sliver", f"网格 {g.label} 只有 {m2:,.0f} 平方米，小于 {rules.sliver_m2:,.0f} 平方米的下限",
                               (i,), g.geometry, area_m2=m2))
    return out


def check_codes(village_code: str, state: State) -> list[Problem]:
    """Codes kept or imported must belong to the village and be unique within the draft."""
    out, seen = [], {}
    for i, g in enumerate(state):
        if g.code is None:
            continue
        if not (len(g.code) == 15 and g.code.startswith(village_code) and g.code[12:].isdigit()):
            out.append(Problem("codes", f"网格编码 {g.code} 不属于本村（社区）{village_code}（应为村代码+3位序号）", (i,)))
        elif g.code in seen:
            out.append(Problem("codes", f"网格编码 {g.code} 重复（第 {seen[g.code] + 1} 与第 {i + 1} 个网格）",
                               (seen[g.code], i)))
        else:
            seen[g.code] = i
    return out


GEOMETRY_CHECKS = (check_invalid, check_multipart, check_outside, check_overlap, check_gap, check_sliver)


def validate(village: BaseGeometry, state: State, village_code: str, rules: Rules = DEFAULT_RULES) -> list[Problem]:
    """All problems of a draft, errors first."""
    if not state:
        return [Problem("gap", "草稿中没有任何网格", (), village, area_m2=area_m2(village))]
    problems = [p for check in GEOMETRY_CHECKS for p in check(village, state, rules)]
    problems += check_codes(village_code, state)
    return sorted(problems, key=lambda p: p.severity != ERROR)


def errors(problems) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]


def _valid(state: State) -> list:
    """The grids the overlay checks can work on (invalid ones are reported by check_invalid)."""
    return [g if (not g.geometry.is_empty and g.geometry.is_valid) else None for g in state]

