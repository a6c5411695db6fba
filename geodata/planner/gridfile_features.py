"""Per-feature checks of an imported grid file: every feature that cannot become a grid (no geometry, empty,
unparsable, not a polygon, no grid code) is named by its number in the file, and the file is refused unless
the planner chose a partial import; text that looks like mojibake is never stored. Pure functions over the
arrays read by `gridfile`. Messages: docs/planner-import.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from geodata.planner.gridfile_source import GridFileError
from geodata.planner.gridfile_text import looks_mojibake

MAX_LISTED = 10
_KINDS = {0: "点", 1: "线", 2: "线", 4: "点", 5: "线", 7: "几何集合"}  # shapely type ids


@dataclass(frozen=True)
class FeatureProblem:
    number: int         # 1-based position in the layer
    problem: str        # zh-CN
    name: str | None = None

    def text(self) -> str:
        who = f"第 {self.number} 个要素" + (f"（{self.name[:20]}）" if self.name else "")
        return f"{who}{self.problem}"


def _kind(geom) -> str:
    return _KINDS.get(int(shapely.get_type_id(geom)), "其他几何") if geom is not None else "空几何"


def _polygonal(geom) -> bool:
    return geom is not None and not shapely.is_empty(geom) and shapely.get_type_id(geom) in (3, 6)


def refuse_without_polygons(geoms: np.ndarray) -> None:
    """A file with not one polygon is not a grid file (no partial import can help)."""
    if not any(map(_polygonal, geoms)):
        what = "、".join(dict.fromkeys("空几何" if g is None or shapely.is_empty(g) else _kind(g) for g in geoms))
        raise GridFileError(f"文件中没有面（多边形）要素，只有{what}，无法作为网格边界导入。")


def _unparsable(wkb: bytes) -> str:
    try:
        shapely.from_wkb(wkb)
    except shapely.errors.GEOSException as exc:
        if "LinearRing" in str(exc):
            return "的几何无法解析：边界环的点数不足（至少 4 个点且首尾相同）"
    except Exception:  # noqa: BLE001 -- any parser failure is the same message for the planner
        pass
    return "的几何无法解析"


def geometry_problems(geoms: np.ndarray, wkb: Sequence | None, names: Sequence) -> list[FeatureProblem]:
    """One problem per feature whose geometry cannot be a grid. `geoms` as parsed (None where absent or
    unparsable), `wkb` the raw geometry bytes to tell those apart (None: not read)."""
    out = []
    for i, geom in enumerate(geoms):
        if geom is None:
            raw = wkb[i] if wkb is not None else None
            what = _unparsable(raw) if raw is not None else "没有几何（空值，或文件中的几何无法解析）"
        elif shapely.is_empty(geom):
            what = "的几何为空（没有坐标）"
        elif not _polygonal(geom):
            what = f"是{_kind(geom)}，不是面（多边形）"
        elif not np.isfinite(shapely.get_coordinates(geom)).all():
            what = "的坐标含有无效数值（NaN 或无穷大）"
        else:
            continue
        out.append(FeatureProblem(i + 1, what, names[i]))
    return out


def code_problems(codes: Sequence[str | None], code_field: str, names: Sequence) -> list[FeatureProblem]:
    return [FeatureProblem(i + 1, f"没有网格编码（字段“{code_field}”为空）", names[i])
            for i, code in enumerate(codes) if code is None]


def listing(problems: Sequence[FeatureProblem]) -> str:
    shown = "；".join(p.text() for p in problems[:MAX_LISTED])
    more = f"；等共 {len(problems)} 个" if len(problems) > MAX_LISTED else ""
    return shown + more


def refuse_or_skip(problems: list[FeatureProblem], total: int, partial: bool) -> tuple[set[int], str | None]:
    """(feature numbers to skip, warning) for a partial import; raises GridFileError otherwise, or when
    nothing would be left."""
    if not problems:
        return set(), None
    skip = {p.number for p in problems}
    left = total - len(skip)
    if left <= 0:
        raise GridFileError(f"文件中没有可导入的网格：{listing(problems)}。请在 GIS 软件中修正后重新导入。")
    if not partial:
        raise GridFileError(
            f"文件中有 {len(skip)} 个要素无法作为网格导入：{listing(problems)}。请在 GIS 软件中修正后重新导入，"
            f"或勾选“部分导入”，只导入其余 {left} 个要素。"
        )
    return skip, f"部分导入：已跳过 {len(skip)} 个要素（{listing(problems)}），导入其余 {left} 个。"


def _visible(text: str) -> str:
    """Invisible characters written out (\\u202e), so the message shows what is there."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def check_text(values: Sequence[tuple[int, str, str | None]]) -> None:
    """Refuse text that looks like mojibake: (feature number, what, text) triples, e.g. (3, "名称", "鏂板煄")."""
    bad = [(n, what, text) for n, what, text in values if text and looks_mojibake(text)]
    if not bad:
        return
    shown = "；".join(f"第 {n} 个要素的{what}“{_visible(text[:20])}”" for n, what, text in bad[:MAX_LISTED])
    more = f"等共 {len(bad)} 处" if len(bad) > MAX_LISTED else ""
    raise GridFileError(f"文件中的文字疑似乱码或含不可见的控制字符：{shown}{more}。字符编码可能选错了，"
                        "请选择正确的字符编码后重试（或在 GIS 软件中修正这些文字）。")
