"""Area codes as people read them: 县/镇/村/网格 names (the code stays available, e.g. as a hover title).

One lookup for every page: `names(s, codes)` → {code: name} in one query per table; `display(s, code)` → the
name with its parents where a name alone is ambiguous (three villages are called 西关社区)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.store.areas import Area, Grid
from console.store.codes import CITY_CODE, CITY_NAME


def names(s: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """{code: name} for area codes (6/9/12 digits, the city) and grid codes (15 digits, current generation;
    a grid no longer current keeps its last name). Unknown codes are left out."""
    wanted = {c for c in codes if c}
    out: dict[str, str] = {CITY_CODE: CITY_NAME} if CITY_CODE in wanted else {}
    areas = [c for c in wanted if len(c) < 15 and c != CITY_CODE]
    grids = [c for c in wanted if len(c) == 15]
    for chunk in _chunks(areas):
        out.update({code: name for code, name in s.execute(select(Area.code, Area.name).where(Area.code.in_(chunk)))})
    for chunk in _chunks(grids):
        # oldest generation first, so the current (or latest) name wins
        rows = s.execute(select(Grid.code, Grid.name).where(Grid.code.in_(chunk)).order_by(Grid.generation_low))
        out.update({code: name for code, name in rows})
    return out


def path_names(s: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """{code: "县 镇 村" style full name} — every level from the county down, for lists where names repeat."""
    wanted = [c for c in codes if c]
    parts = {c: _ancestry(c) for c in wanted}
    known = names(s, {p for chain in parts.values() for p in chain})
    return {c: " ".join(known[p] for p in chain if p in known) for c, chain in parts.items() if c in known}


class AreaNotFound(ValueError):
    """The text names no area, or several: the message (Chinese) says which and how to be precise."""


def area_code(s: Session, text: str | None) -> str | None:
    """What a person typed into an area filter → an area code: a code as it is; a name ("紫阳县", "紫阳",
    "紫阳县 城关镇 西关社区") → its code. Several areas of that name → AreaNotFound listing them by full name."""
    text = " ".join((text or "").split())
    if not text:
        return None
    if text.isdigit():
        return text
    if text == CITY_NAME:
        return CITY_CODE
    *parents, last = text.split(" ")
    found = _by_name(s, last)
    for parent in parents:  # "县 镇 村": each part narrows the candidates to those under it
        under = {c for p in _by_name(s, parent) for c in found if c.startswith(p) and c != p}
        found = under
    if len(found) == 1:
        return next(iter(found))
    if not found:
        raise AreaNotFound(f"没有名为“{text}”的区划，请输入县/镇/村名称或区划代码")
    full = path_names(s, sorted(found))
    shown = "；".join(full[c] for c in sorted(found)[:5]) + ("……" if len(found) > 5 else "")
    raise AreaNotFound(f"“{text}”有 {len(found)} 处：{shown}。请加上县、镇名（如“{full[min(found)]}”）或输入代码")


def _by_name(s: Session, name: str) -> set[str]:
    """Codes of areas named `name` exactly, else of those whose name starts with it (紫阳 → 紫阳县)."""
    exact = set(s.scalars(select(Area.code).where(Area.name == name, Area.code != CITY_CODE)))
    if exact:
        return exact
    return set(s.scalars(select(Area.code).where(Area.name.startswith(name, autoescape=True), Area.code != CITY_CODE)))


def location_rows(s: Session, located) -> list[tuple[str, str]]:
    """Popup rows saying where a located record is, by name: 所在 (county town village) and 网格."""
    codes = [getattr(located, f, None) for f in ("county_code", "town_code", "village_code", "grid_code")]
    known = names(s, codes)
    place = " ".join(known[c] for c in codes[:3] if c in known)
    rows = [("所在", place)] if place else []
    if codes[3]:
        rows.append(("网格", label(known, codes[3])))
    return rows


def label(known: dict[str, str], code: str | None) -> str:
    """The name for `code` from a `names()` result, or the code itself when it is unknown; "" for none."""
    return known.get(code, code) if code else ""


def _ancestry(code: str) -> list[str]:
    """A code and its parents from the county down: 610902001003005 → 610902, 610902001, …003, …003005."""
    return [code[:n] for n in (6, 9, 12, 15) if n <= len(code)]


def _chunks(items: list[str], size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]
