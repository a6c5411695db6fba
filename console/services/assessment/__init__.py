"""督导考评: indicator rates, weighted scores and ranks for an area's children and its grid workers, a trend of
the area's own score, a monthly workbook and a printable page. The registry is `indicators.py`, the SQL
`measures.py`, the arithmetic `scores.py`. See docs/assessment.md."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from console.store import AreaScope

from ..areas import AreaNode
from . import measures, weights as weight_store
from .indicators import BY_KEY, INDICATORS, WORKER, Indicator, applies
from .period import Month
from .scores import Row, build_rows, change, rate, score

CHILD_LEVEL_OF = {"city": "county", "county": "town", "town": "village", "village": "grid"}
WORKER_LEVELS = ("village", "grid")  # where the table of grid workers is shown


@dataclass(frozen=True)
class Assessment:
    node: AreaNode
    month: Month
    weights: dict[str, float]
    total: Row  # the area itself
    children: list[Row]  # ranked
    workers: list[Row]  # ranked; empty above WORKER_LEVELS
    child_indicators: tuple[Indicator, ...]
    worker_indicators: tuple[Indicator, ...]


def _area_figures(s, node, scope, month, keys, cube=None) -> dict:
    out = {k: measures.AREA_MEASURES[k](s, node, scope, month) for k in keys if k != "completeness"}
    if "completeness" in keys:
        out["completeness"] = measures.completeness(s, node, scope, month, cube)
    return out


def assess(s: Session, node: AreaNode, scope: AreaScope, month: Month, kids: list[AreaNode],
           worker_names: dict[str, str] | None = None, quality_cube=None) -> Assessment:
    """`quality_cube`: the pages' cached per-grid data-quality counts (views.quality_cube); without it the
    checks are run on the tables."""
    w = weight_store.current(s)
    child_level = CHILD_LEVEL_OF.get(node.level)
    own = tuple(i for i in INDICATORS if applies(i, node.level))
    child_ind = tuple(i for i in INDICATORS if child_level and applies(i, child_level))
    figures = _area_figures(s, node, scope, month, {i.key for i in own} | {i.key for i in child_ind}, quality_cube)
    total = build_rows([(measures.TOTAL, node.name)], figures, own, w)[0]
    children = build_rows([(k.code, k.name) for k in kids], figures, child_ind, w) if kids else []
    workers: list[Row] = []
    worker_ind = tuple(i for i in INDICATORS if applies(i, WORKER))
    if node.level in WORKER_LEVELS:
        grids = measures.worker_grids(s, node, scope, month)
        wf = measures.by_worker(s, node, scope, month, grids)
        names = measures.worker_labels(s, grids) if worker_names is None else worker_names
        workers = build_rows([(u, names.get(u, u)) for u in sorted(grids)], wf, worker_ind, w)
    return Assessment(node, month, w, total, children, workers, child_ind, worker_ind)


def trend(s: Session, node: AreaNode, scope: AreaScope, month: Month, months: int = 6, quality_cube=None
          ) -> list[tuple[Month, float | None]]:
    """The area's own score for each of the last `months` months (oldest first)."""
    w = weight_store.current(s)
    own = tuple(i for i in INDICATORS if applies(i, node.level))
    out = []
    for m in month.back(months):
        figures = _area_figures(s, node, scope, m, {i.key for i in own}, quality_cube)
        out.append((m, build_rows([(measures.TOTAL, node.name)], figures, own, w)[0].score))
    return out


__all__ = ["Assessment", "CHILD_LEVEL_OF", "WORKER_LEVELS", "BY_KEY", "INDICATORS", "Month", "Row", "assess", "change", "rate", "score", "trend"]
