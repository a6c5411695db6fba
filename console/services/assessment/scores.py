"""Rates, weighted scores and ranks from the measured figures: pure functions, no database."""

from __future__ import annotations

import re

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .indicators import Indicator


@dataclass(frozen=True)
class Row:
    unit: str  # an area code, a worker's username, or "" for the whole area
    label: str
    rates: dict[str, float | None]  # indicator key → 0..1, None where it does not apply or has nothing to count
    counts: dict[str, tuple[float, float]]
    score: float | None  # 0..100
    rank: int | None = None


def rate(pair: tuple[float, float] | None) -> float | None:
    if not pair or not pair[1]:
        return None
    return max(0.0, min(1.0, pair[0] / pair[1]))


MIN_INDICATORS = 2  # fewer than this with something to count: 数据不足, no score (one figure is not an assessment)


def score(rates: Mapping[str, float | None], weights: Mapping[str, float]) -> float | None:
    """Σ weight × rate ÷ Σ weight over the indicators that have a rate, on a 100-point scale: an indicator with
    nothing to count (no task fell due) neither helps nor hurts."""
    used = [(weights.get(k, 0.0), r) for k, r in rates.items() if r is not None and weights.get(k, 0.0) > 0]
    if len(used) < MIN_INDICATORS:
        return None
    total = sum(w for w, _ in used)
    return None if not total else round(100.0 * sum(w * r for w, r in used) / total, 1)


def build_rows(units: Sequence[tuple[str, str]], figures: Mapping[str, Mapping[str, tuple[float, float]]],
               indicators: Sequence[Indicator], weights: Mapping[str, float]) -> list[Row]:
    """One row per unit (code or worker, label), rates and score, ranked by score (ties share a rank; units
    without a score come last, unranked)."""
    rows = []
    for unit, label in units:
        counts = {i.key: figures.get(i.key, {}).get(unit) for i in indicators}
        rates = {k: rate(v) for k, v in counts.items()}
        rows.append(Row(unit, label, rates, {k: v for k, v in counts.items() if v}, score(rates, weights)))
    return ranked(rows)


def natural(label: str) -> tuple:
    """第2网格 before 第10网格."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", label))


def ranked(rows: list[Row]) -> list[Row]:
    scored = sorted((r for r in rows if r.score is not None), key=lambda r: (-r.score, natural(r.label)))
    out, last, rank = [], None, 0
    for n, r in enumerate(scored, 1):
        if r.score != last:
            rank, last = n, r.score
        out.append(Row(r.unit, r.label, r.rates, r.counts, r.score, rank))
    return out + sorted((r for r in rows if r.score is None), key=lambda r: natural(r.label))


def change(current: float | None, previous: float | None) -> float | None:
    """Points gained since the previous period (month-on-month)."""
    if current is None or previous is None:
        return None
    return round(current - previous, 1)
