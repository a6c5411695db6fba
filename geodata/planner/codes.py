"""Which draft grid keeps which code, and the codes new grids get at commit.

Rules (docs/domain.md §1, and our decision where it is silent):
- a grid that descends from a current grid keeps its code (so its grid worker and history follow it);
- a whole new drawing (proposal, import without codes) inherits the code of the current grid it mostly
  covers, each old code at most once, largest overlaps first;
- new grids get serials after the highest serial the village has ever used — a retired code is never
  reused, because past generations and the move log still mean the old grid by it — numbered in
  reading order (north→south, west→east).
"""

from __future__ import annotations

from dataclasses import replace

import shapely

from geodata.gridcodes import reading_order

from .draft import State

MIN_SHARE = 0.5  # a new grid inherits a code only if it covers at least this share of the old grid


def inherit_codes(state: State, current: State) -> State:
    """Give un-coded grids of `state` the code of the current grid they mostly cover."""
    olds = [g for g in current if g.code]
    taken = {g.code for g in state if g.code}
    pairs = []
    for i, g in enumerate(state):
        if g.code:
            continue
        for old in olds:
            if old.code in taken or not shapely.intersects(g.geometry, old.geometry):
                continue
            share = shapely.intersection(g.geometry, old.geometry).area / max(old.geometry.area, 1e-30)
            if share >= MIN_SHARE:
                pairs.append((share, i, old.code))
    out = list(state)
    for share, i, code in sorted(pairs, reverse=True):
        if out[i].code is None and code not in taken:
            out[i] = replace(out[i], code=code)
            taken.add(code)
    return tuple(out)


def assign_codes(village_code: str, state: State, used_serials) -> State:
    """Codes for the draft's new grids, after the highest serial ever used in the village."""
    start = max([0, *[int(s) for s in used_serials]]) + 1
    new = [i for i, g in enumerate(state) if not g.code]
    if not new:
        return state
    if start + len(new) - 1 > 999:
        raise ValueError(f"村社区 {village_code} 的网格序号已用到 {start - 1}，不足以编码 {len(new)} 个新网格")
    order = reading_order([state[i].geometry for i in new])
    out = list(state)
    for serial, k in enumerate(order, start=start):
        i = new[int(k)]
        out[i] = replace(out[i], code=f"{village_code}{serial:03d}")
    return tuple(out)


def serial_of(code: str) -> int:
    return int(code[12:15])


def same_shape(a, b, tolerance: float = 1e-12) -> bool:
    """Same boundary, up to ring orientation and start point, vertices within `tolerance` degrees."""
    return bool(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=tolerance))

