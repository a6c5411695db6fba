"""The 实有人口 choropleth of the area polygons (docs/console.md, "Map symbols"): by residents or by density
(人/平方公里), five classes at rounded quantile breaks, each with its band in the legend. Pure functions."""

from __future__ import annotations

import math

# ColorBrewer "Blues" without its near-white first class: the lowest band must read as coloured, not as empty.
COLORS = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
# mode → (switch label, the value's unit); the mode is also the area feature's property that is coloured
MODES = {"residents": ("按人数", "人"), "density": ("按密度", "人/平方公里")}
DEFAULT_MODE = "residents"


def mode_of(value) -> str:
    """A mode from the browser's switch (anything unknown → the default)."""
    return value if isinstance(value, str) and value in MODES else DEFAULT_MODE


def quantile_breaks(values, classes: int = len(COLORS)) -> list[float]:
    """Quantile class breaks (upper bounds of all but the last class)."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return []
    return [vals[min(len(vals) - 1, (len(vals) * i) // classes)] for i in range(1, classes)]


def nice(value: float) -> float:
    """`value` rounded to two significant figures (1234 → 1200, 0.567 → 0.57), for a legend a person reads."""
    if not value or not math.isfinite(value):
        return 0
    digits = 1 - int(math.floor(math.log10(abs(value))))
    out = round(value, digits)
    return int(out) if digits <= 0 or out == int(out) else out


def breaks(values, classes: int = len(COLORS)) -> list[float]:
    """Rounded, strictly increasing quantile breaks: at most `classes` - 1 of them."""
    out: list[float] = []
    for b in quantile_breaks(values, classes):
        b = nice(b)
        if not out or b > out[-1]:
            out.append(b)
    return out


def color(value: float, brk: list[float]) -> str:
    """The class colour of `value` (a value equal to a break belongs to the class below it, like the map's)."""
    i = 0
    while i < len(brk) and value > brk[i]:
        i += 1
    return COLORS[min(i, len(COLORS) - 1)]


def _fmt(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) or float(v).is_integer() else f"{v:,.2f}".rstrip("0")


def bands(brk: list[float]) -> list[tuple[str, str]]:
    """(label, colour) per class, lowest first: "≤ 1,200", "1,200 – 2,500", …, "> 9,000"."""
    if not brk:
        return [("全部", COLORS[0])]
    out = [(f"≤ {_fmt(brk[0])}", COLORS[0])]
    out += [(f"{_fmt(lo)} – {_fmt(hi)}", COLORS[i + 1]) for i, (lo, hi) in enumerate(zip(brk, brk[1:]))]
    out.append((f"> {_fmt(brk[-1])}", COLORS[min(len(brk), len(COLORS) - 1)]))
    return out
