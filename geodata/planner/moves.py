"""Who changes grid between the current boundaries and a draft: per record, per (old → new) pair, per worker."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from geodata.assign import PolygonIndex

from .draft import State

@dataclass(frozen=True)
class Records:
    """Located records of one kind in the village: ids, position and current grid code."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    grid: np.ndarray  # object array of codes (None allowed)


@dataclass(frozen=True)
class Moved:
    ids: np.ndarray
    old: np.ndarray
    new: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def grid_index(state: State) -> PolygonIndex:
    codes = [g.code for g in state]
    if any(c is None for c in codes):
        raise ValueError("every draft grid needs a code before records can be re-assigned")
    return PolygonIndex.build(codes, [g.geometry for g in state])


def new_grid_codes(state: State, lon, lat, index: PolygonIndex | None = None) -> np.ndarray:
    """Code of the draft grid each point falls in; points outside every grid take the nearest one
    (a record a little outside its village stays with the village); NaN positions give None."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    out = np.full(len(lon), None, dtype=object)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return out
    index = index or grid_index(state)
    res = index.assign(lon[ok], lat[ok], nearest=True)
    found = res.codes.copy()
    if len(res.outside):
        found[res.outside] = res.nearest_codes
    out[ok] = found
    return out


def record_moves(state: State, records: dict[str, Records]) -> dict[str, Moved]:
    """For each kind, the records whose grid changes (records with no position keep theirs)."""
    moved = {}
    index = grid_index(state)
    for kind, rec in records.items():
        new = new_grid_codes(state, rec.lon, rec.lat, index)
        change = (new != None) & (new != np.asarray(rec.grid, dtype=object))  # noqa: E711 - element-wise
        moved[kind] = Moved(np.asarray(rec.ids)[change], np.asarray(rec.grid, dtype=object)[change], new[change])
    return moved


def pair_table(moved: dict[str, Moved]) -> list[dict]:
    """One row per (old grid → new grid) with a count per kind, biggest moves first."""
    rows: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    for kind, m in moved.items():
        for o, n in zip(m.old, m.new):
            rows[(o, n)][kind] += 1
    table = [{"from": o, "to": n, **{k: int(c.get(k, 0)) for k in moved}} for (o, n), c in rows.items()]
    return sorted(table, key=lambda r: (-sum(r[k] for k in moved), str(r["from"]), str(r["to"])))


def worker_changes(pairs: list[dict], workers: dict[str, list[str]], kind: str = "household") -> list[dict]:
    """Per grid worker: households gained and lost (the 'which households moved to whom' question)."""
    gain, loss = defaultdict(int), defaultdict(int)
    for r in pairs:
        gain[r["to"]] += r.get(kind, 0)
        loss[r["from"]] += r.get(kind, 0)
    rows = []
    for code in sorted(set(gain) | set(loss), key=str):
        names = workers.get(code) or []
        rows.append({"grid": code, "workers": "、".join(names) if names else "（未配备网格员）",
                     "gain": gain[code], "loss": loss[code], "net": gain[code] - loss[code]})
    return rows


def successor_grid(pairs: list[dict], old_code: str, kind: str = "household") -> str | None:
    """The new grid that received most of a retired grid's records (its worker follows them)."""
    best = max((r for r in pairs if r["from"] == old_code), key=lambda r: r.get(kind, 0), default=None)
    return None if best is None else best["to"]
