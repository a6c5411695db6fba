"""Revalidation after every draft change: validity + balance, as plain data for the page and the API."""

from __future__ import annotations

import time
from dataclasses import dataclass

from geodata.planner import balance as balancing, validity
from geodata.planner.balance import Balance
from geodata.planner.draft import State
from geodata.planner.rules import DEFAULT_RULES, Rules, area_m2

from .village import VillageData


@dataclass(frozen=True)
class Evaluation:
    problems: list[validity.Problem]
    balance: Balance
    ms: float

    @property
    def errors(self) -> list[validity.Problem]:
        return validity.errors(self.problems)

    @property
    def committable(self) -> bool:
        return not self.errors


def evaluate(village: VillageData, state: State, rules: Rules = DEFAULT_RULES) -> Evaluation:
    t0 = time.perf_counter()
    problems = validity.validate(village.geometry, state, village.code, rules)
    bal = balancing.tally(state, village.lon, village.lat, village.size, rules.band_for(village.kind))
    return Evaluation(problems, bal, (time.perf_counter() - t0) * 1000)


def grid_rows(state: State, ev: Evaluation) -> list[dict]:
    """One row per draft grid for the balance table."""
    rows = []
    for i, (g, t) in enumerate(zip(state, ev.balance.tallies)):
        flagged = [p.kind for p in ev.problems if i in p.grids]
        rows.append({"index": i, "rid": str(i), "code": g.code or "（新）", "name": g.name, "households": t.households,
                     "residents": t.residents, "deviation": round(t.deviation * 100, 1),
                     "status": balancing.STATUS_LABELS[t.status], "status_key": t.status,
                     "area_km2": round(area_m2(g.geometry) / 1e6, 3),
                     "problems": "、".join(validity.KIND_LABELS[k] for k in flagged)})
    return rows
