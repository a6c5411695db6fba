"""A draft of one village's grids and the edits a planner makes to it.

A draft state is a tuple of `DraftGrid`s. Every edit is a pure function `state -> new state` that keeps
the grids a partition of the village as far as the drawing allows: the edited grid takes what it now
covers from its neighbours, and what it gave up goes to the neighbour sharing the longest border with
it. Whatever cannot be resolved (a line that does not cross, a hole nobody borders) is left for
`validity` to report, or refused here with an `EditError` the planner can read.

Codes: an edited grid keeps its code; of a split grid the larger part keeps it; a merge keeps the
code of the larger grid; a created grid has none until commit (see `codes.assign_codes`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import split as split_by_line

from .rules import DEFAULT_RULES, Rules, area_m2, m_to_deg


class EditError(ValueError):
    """An edit that cannot be applied; the message is for the planner (Chinese)."""


@dataclass(frozen=True)
class DraftGrid:
    code: str | None            # None: a new grid, coded at commit
    geometry: BaseGeometry      # Polygon (MultiPolygon only while invalid)
    name: str = ""
    kind: str = "comprehensive"

    @property
    def label(self) -> str:
        return self.name or self.code or "新网格"


State = tuple[DraftGrid, ...]


# ---------------------------------------------------------------- (de)serialisation for stored drafts
def state_to_json(state: State) -> list[dict]:
    return [{"code": g.code, "name": g.name, "kind": g.kind, "geometry": mapping(g.geometry)} for g in state]


def state_from_json(items: list[dict]) -> State:
    return tuple(DraftGrid(d.get("code"), shape(d["geometry"]), d.get("name", ""), d.get("kind", "comprehensive"))
                 for d in items)


def dumps(state: State) -> str:
    return json.dumps(state_to_json(state), ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- drawn input
def clean_drawn_polygon(polygon, village: BaseGeometry, state: State, rules: Rules = DEFAULT_RULES,
                        *, ignore: int | None = None) -> Polygon:
    """Validate, repair, snap and clip a hand-drawn polygon. Raises EditError for what cannot be repaired.

    Repairs: ring orientation, repeated points, a closing point missing (shapely handles those); snapping
    of vertices within `rules.snap_m` to the village border and to the other grids so that a hand-drawn
    edge does not leave slivers; clipping to the village.
    """
    if not isinstance(polygon, BaseGeometry):
        raise EditError("绘制的图形无法识别")
    if polygon.geom_type == "MultiPolygon" and len(polygon.geoms) == 1:
        polygon = polygon.geoms[0]
    if polygon.geom_type != "Polygon":
        raise EditError(f"需要一个多边形，收到的是 {polygon.geom_type}")
    if len(polygon.interiors):
        raise EditError("绘制的多边形带有内洞；网格边界请画成单个外环")
    if len(shapely.get_coordinates(polygon.exterior)) < 4:
        raise EditError("多边形至少需要三个不同的顶点")
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        fixed = shapely.make_valid(polygon)
        parts = [p for p in shapely.get_parts(fixed) if p.geom_type == "Polygon" and p.area > 0]
        if len(parts) != 1 or abs(parts[0].area - abs(_signed_area(polygon))) > 1e-3 * parts[0].area:
            raise EditError(f"多边形自相交（如蝴蝶结形），请重新绘制：{_reason_zh(reason)}")
        polygon = parts[0]
    if polygon.area == 0:
        raise EditError("多边形面积为零，请重新绘制")
    polygon = shapely.normalize(polygon)
    tol = m_to_deg(rules.snap_m)
    others = [g.geometry for i, g in enumerate(state) if i != ignore]
    reference = shapely.union_all([village.boundary, *[o.boundary for o in others]]) if others else village.boundary
    snapped = shapely.snap(polygon, reference, tol)
    if snapped.is_valid and not snapped.is_empty:
        polygon = snapped
    clipped = _polygonal(shapely.intersection(polygon, village))
    if clipped.is_empty:
        raise EditError("多边形不在本村（社区）范围内")
    if clipped.geom_type == "MultiPolygon":
        # keep the part inside the village that the planner meant: the largest
        clipped = max(clipped.geoms, key=lambda p: p.area)
    return clipped


def _signed_area(p: Polygon) -> float:
    x, y = np.asarray(p.exterior.coords).T
    return 0.5 * float(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))


def _reason_zh(reason: str) -> str:
    if reason.startswith("Self-intersection") or reason.startswith("Ring Self-intersection"):
        return "边界自相交，位置 " + reason.split("[", 1)[-1].rstrip("]")
    return reason


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts of an overlay result (drop the lines and points it may carry)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


# ---------------------------------------------------------------- helpers shared by the edits
def _index(state: State, i: int) -> DraftGrid:
    if not 0 <= i < len(state):
        raise EditError("所选网格不存在（草稿可能已被修改，请刷新）")
    return state[i]


def _shared_length(a: BaseGeometry, b: BaseGeometry) -> float:
    return shapely.length(shapely.intersection(a.boundary, b.boundary))


def _give_away(grids: list[DraftGrid], released: BaseGeometry, exclude: set[int]) -> None:
    """Hand each connected piece of `released` to the neighbour sharing the longest border with it."""
    for piece in shapely.get_parts(_polygonal(released)):
        if piece.area <= 0:
            continue
        best, best_len = None, 0.0
        for j, g in enumerate(grids):
            if j in exclude or g.geometry.is_empty:
                continue
            length = _shared_length(piece, g.geometry)
            if length > best_len:
                best, best_len = j, length
        if best is not None:
            grids[best] = replace(grids[best], geometry=_merge_geoms(grids[best].geometry, piece))


def _merge_geoms(a: BaseGeometry, b: BaseGeometry) -> BaseGeometry:
    merged = _polygonal(shapely.union(a, b))
    if merged.geom_type == "Polygon":
        # drop zero-width spikes/holes left by floating-point unions
        merged = Polygon(merged.exterior, [r for r in merged.interiors if Polygon(r).area > 1e-14])
    return merged


def _take_from_others(grids: list[DraftGrid], new: BaseGeometry, keep: int | None) -> None:
    for j, g in enumerate(grids):
        if j == keep or not shapely.intersects(g.geometry, new):
            continue
        grids[j] = replace(g, geometry=_polygonal(shapely.difference(g.geometry, new)))


def _drop_empty(grids: list[DraftGrid]) -> State:
    return tuple(g for g in grids if not g.geometry.is_empty)


# ---------------------------------------------------------------- the edits
def redraw(state: State, village: BaseGeometry, i: int, polygon, rules: Rules = DEFAULT_RULES) -> State:
    """Grid `i` gets the drawn boundary; neighbours lose what it now covers and gain what it gave up."""
    old = _index(state, i)
    new = clean_drawn_polygon(polygon, village, state, rules, ignore=i)
    grids = list(state)
    _take_from_others(grids, new, keep=i)
    released = shapely.difference(old.geometry, new)
    grids[i] = replace(old, geometry=new)
    _give_away(grids, released, exclude={i})
    return _drop_empty(grids)


def create(state: State, village: BaseGeometry, polygon, rules: Rules = DEFAULT_RULES, *, name: str = "") -> State:
    """A new grid from a drawn polygon, taking its area from the grids it covers."""
    new = clean_drawn_polygon(polygon, village, state, rules)
    grids = list(state)
    _take_from_others(grids, new, keep=None)
    grids.append(DraftGrid(None, new, name))
    return _drop_empty(grids)


def delete(state: State, i: int, to: int | None = None) -> State:
    """Remove grid `i`; its area goes to `to`, or else to the neighbour sharing the longest border."""
    gone = _index(state, i)
    if len(state) == 1:
        raise EditError("村（社区）至少要有一个网格，不能删除最后一个")
    grids = list(state)
    if to is not None:
        target = _index(state, to)
        if to == i or _shared_length(gone.geometry, target.geometry) <= 0:
            raise EditError(f"网格 {gone.label} 与 {target.label} 不相邻，面积无法并入")
        grids[to] = replace(target, geometry=_merge_geoms(target.geometry, gone.geometry))
    else:
        neighbours = [j for j, g in enumerate(state) if j != i and _shared_length(gone.geometry, g.geometry) > 0]
        if not neighbours:
            raise EditError(f"网格 {gone.label} 没有相邻网格，删除后其面积无处归属")
        _give_away(grids, gone.geometry, exclude={i})
    del grids[i]
    return _drop_empty(grids)


def merge(state: State, i: int, j: int) -> State:
    """One grid from two neighbours; it keeps the code of the larger one."""
    a, b = _index(state, i), _index(state, j)
    if i == j:
        raise EditError("请选择两个不同的网格进行合并")
    if _shared_length(a.geometry, b.geometry) <= 0:
        raise EditError(f"网格 {a.label} 与 {b.label} 不相邻，不能合并")
    keep = b if b.geometry.area > a.geometry.area * (1 + 1e-9) else a   # ties: the first one chosen
    merged = replace(keep, geometry=_merge_geoms(a.geometry, b.geometry))
    grids = [g for k, g in enumerate(state) if k not in (i, j)]
    grids.insert(min(i, j), merged)
    return tuple(grids)


def split(state: State, village: BaseGeometry, line, rules: Rules = DEFAULT_RULES) -> State:
    """Cut every grid that the drawn line crosses from border to border; the larger part keeps the code.

    Line ends that stop just short of a border (within the snap distance) are extended onto it.
    """
    if not isinstance(line, BaseGeometry) or line.geom_type != "LineString" or line.length == 0:
        raise EditError("拆分需要一条折线")
    if not line.is_simple:
        raise EditError("拆分线自相交，请重新绘制")
    line = _extend(line, m_to_deg(rules.snap_m) * 2)
    grids: list[DraftGrid] = []
    cut_any = False
    for g in state:
        pieces = [p for p in shapely.get_parts(split_by_line(g.geometry, line)) if p.geom_type == "Polygon"]
        big = [p for p in pieces if area_m2(p) >= rules.tolerance_m2]
        if len(big) < 2:
            grids.append(g)
            continue
        cut_any = True
        big.sort(key=lambda p: -p.area)
        grids.append(replace(g, geometry=big[0]))
        grids.extend(DraftGrid(None, p) for p in big[1:])
        for small in (p for p in pieces if area_m2(p) < rules.tolerance_m2):
            grids[-1] = replace(grids[-1], geometry=_merge_geoms(grids[-1].geometry, small))
    if not cut_any:
        raise EditError("拆分线没有完整穿过任何网格：请从网格边界外画到另一侧边界外")
    return tuple(grids)


def _extend(line: LineString, by: float) -> LineString:
    c = np.asarray(line.coords)
    def push(end, prev):
        d = end - prev
        n = np.hypot(*d)
        return end if n == 0 else end + d / n * by
    c[0], c[-1] = push(c[0], c[1]), push(c[-1], c[-2])
    return LineString(c)


def snap_to_current(state: State, village: BaseGeometry, current: State, tolerance_m: float = 0.5) -> State:
    """Imported grids: one that matches a current grid to within `tolerance_m` everywhere IS that grid (its stored
    geometry is kept bit for bit, so a file that went out and back — or through a CRS conversion — changes
    nothing); other grids have vertices within the tolerance moved onto the village border and the current grids.
    Invalid geometry is left as it is, for `validity` to report."""
    reference = shapely.union_all([village.boundary, *[g.geometry.boundary for g in current]])
    tol = m_to_deg(tolerance_m)
    olds = [g.geometry for g in current]
    tree = shapely.STRtree(olds) if olds else None
    out = []
    for g in state:
        geom = g.geometry
        if geom.is_valid and not geom.is_empty:
            twin = None
            if tree is not None:
                for k in tree.query(geom, predicate="intersects"):
                    if shapely.hausdorff_distance(geom, olds[k]) <= tol:
                        twin = olds[k]
                        break
            if twin is not None:
                geom = twin
            else:
                snapped = shapely.snap(geom, reference, tol)
                if snapped.is_valid:
                    geom = snapped
        out.append(replace(g, geometry=geom))
    return tuple(out)


def replace_all(grids) -> State:
    """A whole new state (a proposal, an import, a past generation) as one undoable step."""
    return tuple(grids)
