"""How many people live where: census figures where known, consistent estimates elsewhere.

Rules (documented in docs/demo-world.md):
- city total 2,493,436 (2020 census); 旬阳, 紫阳, 平利 from census bulletins; 汉滨 ≈ 895,000
  (rounded secondary figure, marked `census_rounded`).
- the other six counties share the remainder in proportion to their village count (`estimated`).
- towns: census where known (every town of 紫阳 and 平利); otherwise the county's remainder is split by a
  weight of 1 per 村 and 4 per 社区, with the county-seat town (街道, or the 城关镇) weighted ×3.
- villages: the town total split by weight (社区 3, 村 1) × a seeded log-normal factor (σ 0.35).
- households: population / mean household size (社区 2.6, 村 3.0, the 2020 census order of magnitude).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geodata import realdata

HANBIN_ROUNDED = ("610902", 895_000)
HOUSEHOLD_SIZE = {"community": 2.6, "village": 3.0}


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer shares of `total` proportional to `weights` that add up exactly."""
    weights = np.asarray(weights, dtype=float)
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    short = total - out.sum()
    if short:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def population_plan(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (counties, towns, villages) frames with `population`, `population_source`, `households`."""
    census = realdata.census()
    counties = pd.DataFrame([{"code": c.code, "name": c.name} for c in realdata.counties()])
    towns = pd.DataFrame(realdata.towns())
    villages = pd.DataFrame(realdata.villages())
    villages["county_code"] = villages["town_code"].str[:6]

    city_total = census["610900"][0]
    known = {code: census[code][0] for code in counties["code"] if code in census}
    known[HANBIN_ROUNDED[0]] = HANBIN_ROUNDED[1]
    counties["population_source"] = [
        "census" if c in census else "census_rounded" if c == HANBIN_ROUNDED[0] else "estimated" for c in counties["code"]
    ]
    unknown = counties.loc[~counties["code"].isin(known), "code"]
    per_village = villages.groupby("county_code").size()
    shares = _largest_remainder(city_total - sum(known.values()), per_village.loc[unknown].to_numpy())
    counties["population"] = counties["code"].map({**known, **dict(zip(unknown, shares))}).astype(np.int64)

    community = villages.assign(c=villages["kind"].eq("community")).groupby("town_code")["c"].sum()
    plain = villages.groupby("town_code").size() - community
    towns["weight"] = (plain.reindex(towns["code"]).fillna(0).to_numpy()
                       + 4 * community.reindex(towns["code"]).fillna(0).to_numpy()).clip(min=1)
    seat = towns["kind"].eq("subdistrict") | (towns["name"].eq("城关镇"))
    towns.loc[seat, "weight"] *= 3
    towns["population"] = 0
    towns["population_source"] = "estimated"
    for code, grp in towns.groupby("county_code"):
        idx_known = grp.index[grp["code"].isin(census)]
        towns.loc[idx_known, "population"] = [census[c][0] for c in grp.loc[idx_known, "code"]]
        towns.loc[idx_known, "population_source"] = "census"
        rest_idx = grp.index.difference(idx_known)
        if len(rest_idx):
            rest = int(counties.set_index("code").at[code, "population"] - towns.loc[idx_known, "population"].sum())
            towns.loc[rest_idx, "population"] = _largest_remainder(max(rest, 0), grp.loc[rest_idx, "weight"].to_numpy())

    villages["weight"] = np.where(villages["kind"].eq("community"), 3.0, 1.0) * rng.lognormal(0, 0.35, len(villages))
    villages["population"] = 0
    for code, grp in villages.groupby("town_code"):
        total = int(towns.set_index("code").at[code, "population"])
        villages.loc[grp.index, "population"] = _largest_remainder(total, grp["weight"].to_numpy())
    villages["population_source"] = "estimated"
    size = villages["kind"].map(HOUSEHOLD_SIZE)
    villages["households"] = np.maximum(1, np.round(villages["population"] / size)).astype(np.int64)
    # Households can't outnumber people; a one-person village keeps one household.
    villages["households"] = np.minimum(villages["households"], villages["population"].clip(lower=1))

    towns["households"] = towns["code"].map(villages.groupby("town_code")["households"].sum()).astype(np.int64)
    counties["households"] = counties["code"].map(villages.groupby("county_code")["households"].sum()).astype(np.int64)
    return counties, towns.drop(columns="weight"), villages.drop(columns="weight")
