"""Area navigation: city → county → town → village → grid, by code. Pure functions over a Session."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from console.store import Area, AreaScope, Grid
from console.store.codes import AREA_COLUMN, CHILD_LEVEL, CITY_CODE, CITY_NAME, CODE_LENGTH, LEVEL_LABELS, LEVELS, level_of

# The column of a `Located` record that holds the code of an area at this level.
OWN_COLUMN = AREA_COLUMN
# The column that tells which child of an area at this level a record belongs to.
CHILD_COLUMN = {level: AREA_COLUMN[child] for level, child in CHILD_LEVEL.items()}


@dataclass(frozen=True)
class AreaNode:
    code: str
    name: str
    level: str
    parent_code: str | None
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    synthetic: bool = False
    # Non-empty: only the parts of the area inside these codes are shown (the home of a scope of several areas
    # whose smallest common area the viewer may not see whole); `name` and `bbox` are then those parts'.
    within: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.within)

    @property
    def level_label(self) -> str:
        return "数据范围" if self.partial else LEVEL_LABELS[self.level]

    def shows(self, code: str) -> bool:
        """Is the area with this code (a child, a record's area) part of what this node shows?"""
        return not self.within or any(code.startswith(c) or c.startswith(code) for c in self.within)

    @property
    def child_level(self) -> str | None:
        return CHILD_LEVEL.get(self.level)

    @property
    def bounds(self) -> list[list[float]]:
        """Leaflet bounds [[south, west], [north, east]]."""
        return [[self.bbox[1], self.bbox[0]], [self.bbox[3], self.bbox[2]]]


def _node(row, level: str) -> AreaNode:
    parent = getattr(row, "parent_code", None) or getattr(row, "village_code", None)
    return AreaNode(
        code=row.code, name=row.name, level=level, parent_code=parent,
        bbox=(row.min_lon, row.min_lat, row.max_lon, row.max_lat),
        synthetic=bool(getattr(row, "synthetic", False)),
    )


def current_grid_clause():
    return Grid.generation_high.is_(None)


def get_node(session: Session, code: str) -> AreaNode | None:
    level = level_of(code)
    if level is None:
        return None
    if level == "grid":
        row = session.scalars(select(Grid).where(Grid.code == code, current_grid_clause())).first()
        return _node(row, "grid") if row else None
    row = session.get(Area, code)
    if row is None or row.level != level:
        return None
    return _node(row, level)


def children(session: Session, node: AreaNode) -> list[AreaNode]:
    if node.level == "grid":
        return []
    if node.level == "village":
        rows = session.scalars(select(Grid).where(Grid.village_code == node.code, current_grid_clause())
                               .order_by(Grid.code)).all()
        return [_node(r, "grid") for r in rows if node.shows(r.code)]
    rows = session.scalars(select(Area).where(Area.parent_code == node.code).order_by(Area.code)).all()
    return [_node(r, node.child_level) for r in rows if node.shows(r.code)]


def ancestor_codes(code: str) -> list[str]:
    """The codes above an area, top first: 610924100201001 → 610900, 610924, 610924100, 610924100201."""
    level = level_of(code)
    if level in (None, "city"):
        return []
    cuts = [n for n in CODE_LENGTH.values() if n < len(code)]
    return [CITY_CODE] + [code[:c] for c in cuts]


def breadcrumb(session: Session, node: AreaNode, scope: AreaScope | None = None) -> list[AreaNode]:
    """The areas above `node`, top first, then the node. With the viewer's scope: nothing above the viewer's home
    (those areas are wider than the scope: their names and links would only bounce back), and the home as the
    viewer sees it (a scope of several areas: their names, not the wider area's)."""
    codes = ancestor_codes(node.code)
    home = None
    if scope is not None:
        home = home_node(session, scope)
        if home.code != CITY_CODE:
            codes = [c for c in codes if c != CITY_CODE and c.startswith(home.code)]
    trail = [home if home is not None and c == home.code else get_node(session, c) for c in codes]
    return [n for n in trail if n is not None] + [node]


def city_node(session: Session) -> AreaNode:
    return get_node(session, CITY_CODE) or AreaNode(CITY_CODE, CITY_NAME, "city", None, (108.0, 31.7, 110.2, 33.8))


def home_node(session: Session, scope: AreaScope) -> AreaNode:
    """Where a viewer starts: the smallest area covering the whole scope; when the viewer may not see that area
    whole (a scope of two counties, of two towns), only its parts inside the scope, named after them — never the
    wider area's name or figures (docs/security.md §2)."""
    code = home_code(scope)
    node = get_node(session, code) or (city_node(session) if code == CITY_CODE else None) or city_node(session)
    if scope.is_city or not scope.codes or scope.allows(node.code):
        return node
    parts = [n for n in (get_node(session, c) for c in sorted(scope.codes)) if n is not None]
    if not parts:
        return node
    names = "、".join(p.name for p in parts[:3]) + (f"等{len(parts)}个区域" if len(parts) > 3 else "")
    box = (min(p.bbox[0] for p in parts), min(p.bbox[1] for p in parts), max(p.bbox[2] for p in parts),
           max(p.bbox[3] for p in parts))
    return replace(node, name=names, bbox=box, synthetic=any(p.synthetic for p in parts),
                   within=tuple(sorted(scope.codes)))


def home_code(scope: AreaScope) -> str:
    """Where a viewer starts: the city, or the deepest area containing all of the scope."""
    if scope.is_city or not scope.codes:
        return CITY_CODE
    codes = sorted(scope.codes)
    prefix = codes[0]
    for c in codes[1:]:
        while not c.startswith(prefix):
            prefix = prefix[:-1]
    for cut in (15, 12, 9, 6):
        if len(prefix) >= cut:
            return prefix[:cut]
    return CITY_CODE


@dataclass(frozen=True)
class Resolved:
    node: AreaNode
    message: str | None = None  # shown to the user when the requested area could not be shown


def resolve(session: Session, scope: AreaScope, requested: str | None) -> Resolved:
    """Turn the URL's area code into a node the viewer may see; fall back with a message."""
    home = home_node(session, scope)
    text = (requested or "").strip()
    if not text:
        return Resolved(home)
    node = get_node(session, text) if level_of(text) else None
    if node is None:
        shown = f"“{text[:20]}”" if text.isdigit() else ""  # never echo markup or junk back
        return Resolved(home, f"未找到区划代码{shown}，已返回{home.name}")
    if not scope.overlaps(node.code):
        return Resolved(home, f"无权查看“{node.name}”，已返回{home.name}")
    if node.code == home.code:
        return Resolved(home)  # the home as the viewer sees it (a scope of several areas: only their parts)
    if node.code != home.code and not scope.allows(node.code):
        # an area wider than the scope (a county account at the city): its figures, children and counts would
        # mix in what the viewer may not see — show the viewer's own area and say so (docs/security.md §2)
        # (the wider area is not named either: its title is not the viewer's to see)
        return Resolved(home, f"所选区域超出您的数据范围，只显示{home.name}的数据")
    return Resolved(node)


def level_index(level: str) -> int:
    return LEVELS.index(level)


def area_clause(model, node: AreaNode):
    """Records inside the area (the city is everything in the database)."""
    if node.level == "city":
        return true()
    return AreaScope.of([node.code]).clause(model)  # a range on the indexed grid code


def within(model, node: AreaNode, scope: AreaScope):
    """Records of `model` inside the area and inside the viewer's scope."""
    return and_(area_clause(model, node), scope.clause(model))


def grid_labels(session: Session, codes) -> dict[str, str]:
    """{grid code: "村社区 网格名"} for the current grids among `codes`: what a person reads (the code goes in a
    tooltip). Unknown codes map to themselves."""
    codes = {c for c in codes if c}
    if not codes:
        return {}
    villages = dict(session.execute(select(Area.code, Area.name).where(Area.code.in_({c[:12] for c in codes}))).all())
    grids = dict(session.execute(select(Grid.code, Grid.name).where(Grid.code.in_(codes), current_grid_clause())).all())
    return {c: f"{villages.get(c[:12], '')} {grids.get(c, c)}".strip() for c in codes}
