"""实有人口 for the demo world: households in buildings (以房管人) and the persons living in them.

Every array operation is vectorised over the whole city; only the per-village household-size draw loops
over villages (1,924 small multinomials) so that each village's head count matches its planned population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import identity
from .identity import iso_days
from .names import random_names

RENTAL_SHARE = {"community": 0.20, "village": 0.04}  # 出租户: floating residents rent
FOREIGN_HOUSEHOLDS_PER_100K = 6  # Ankang has few foreign residents (teachers, engineers, spouses)
ETHNIC = np.array(["汉族", "回族", "土家族", "满族", "蒙古族", "苗族"])
ETHNIC_P = np.array([0.9935, 0.003, 0.0015, 0.001, 0.0005, 0.0005])


def build_households(rng: np.random.Generator, buildings: pd.DataFrame) -> pd.DataFrame:
    """One household per dwelling of each building. `buildings` needs: id, village_code, village_kind,
    dwellings, address, lon, lat and the located code columns."""
    dwell = buildings["dwellings"].to_numpy()
    rep = np.repeat(np.arange(len(buildings)), dwell)
    cols = ("id", "kind", "address", "village_kind", "lon", "lat", "county_code", "town_code", "village_code",
            "grid_code", "assign_generation")
    hh = {c: buildings[c].to_numpy()[rep] for c in cols}
    within = np.arange(len(rep)) - np.repeat(np.cumsum(dwell) - dwell, dwell)
    apartment = np.isin(hh["kind"], ["apartment", "mixed"])
    unit = within // 12 + 1
    room = (within % 12) // 2 + 1
    floor = room  # two flats a floor, six floors a unit
    door = within % 2 + 1
    suffix = np.where(apartment, pd.Series(unit).astype(str) + "单元" + pd.Series(floor * 100 + door).astype(str) + "室", "")
    out = pd.DataFrame({
        "building_id": hh["id"],
        "address": hh["address"] + suffix,
        "village_kind": hh["village_kind"],
    })
    for col in cols[4:]:
        out[col] = hh[col]
    serial = out.groupby("village_code", sort=False).cumcount().to_numpy() + 1
    out["code"] = out["village_code"] + pd.Series(serial).astype(str).str.zfill(5)
    n = len(out)
    share = out["village_kind"].map(RENTAL_SHARE).to_numpy()
    out["is_rental"] = rng.random(n) < share
    n_foreign = max(1, round(n * 2.8 * FOREIGN_HOUSEHOLDS_PER_100K / 100_000))
    urban = np.flatnonzero(out["village_kind"].eq("community").to_numpy())
    foreign = rng.choice(urban if len(urban) else np.arange(n), min(n_foreign, n), replace=False)
    out["kind"] = np.where(out["is_rental"], "rental", "registered")
    out.loc[foreign, "kind"] = "foreign"
    out.loc[foreign, "is_rental"] = True
    out.insert(0, "id", np.arange(1, n + 1))
    return out


def household_sizes(rng: np.random.Generator, households: pd.DataFrame, target: dict[str, int]) -> np.ndarray:
    """Sizes ≥ 1 whose sum per village equals `target[village_code]` (foreign households: 1–2)."""
    sizes = np.ones(len(households), dtype=np.int64)
    foreign = households["kind"].eq("foreign").to_numpy()
    sizes[foreign] = rng.integers(1, 3, foreign.sum())
    for code, idx in households.groupby("village_code", sort=False).indices.items():
        free = idx[~foreign[idx]]
        extra = target.get(code, len(idx)) - sizes[idx].sum()
        if extra > 0 and len(free):
            sizes[free] += rng.multinomial(extra, np.full(len(free), 1 / len(free)))
    return sizes


def _ages(rng, size, member, rural_household):
    """Ages of household members: a head, a spouse, children, then parents/grandchildren."""
    n = len(member)
    head_age = np.repeat(np.clip(rng.normal(np.where(rural_household, 55, 47), 14), 20, 92), size)
    ages = np.empty(n)
    ages[member == 0] = head_age[member == 0]
    spouse = member == 1
    ages[spouse] = np.clip(head_age[spouse] + rng.normal(-2, 3, spouse.sum()), 18, 95)
    later = member >= 2
    child = head_age[later] - rng.uniform(22, 34, later.sum())
    elder = head_age[later] + rng.uniform(22, 30, later.sum())
    grand = head_age[later] - rng.uniform(44, 58, later.sum())
    use_grand = (member[later] >= 4) & (grand >= 0)
    ages[later] = np.where(use_grand, grand, np.where(child >= 0, child, np.minimum(elder, 100)))
    relation = np.full(n, "child", dtype=object)
    relation[member == 0] = "head"
    relation[spouse] = "spouse"
    rel_later = np.where(use_grand, "grandchild", np.where(child >= 0, "child", "parent"))
    relation[later] = rel_later
    return ages, relation


def build_persons(rng: np.random.Generator, households: pd.DataFrame, sizes: np.ndarray,
                  as_of: np.datetime64, county_names: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (persons, floating_info, foreign_info)."""
    rep = np.repeat(np.arange(len(households)), sizes)
    cols = ("id", "kind", "lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")
    hh = {c: households[c].to_numpy()[rep] for c in cols}
    n = len(rep)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    member = np.arange(n) - starts
    rural_household = households["village_kind"].eq("village").to_numpy()
    rural = rural_household[rep]
    ages, relation = _ages(rng, sizes, member, rural_household)
    head_sex = np.repeat(np.where(rng.random(len(sizes)) < 0.72, "M", "F"), sizes)
    sex = np.where(member == 0, head_sex,
                   np.where(member == 1, np.where(head_sex == "M", "F", "M"), np.where(rng.random(n) < 0.51, "M", "F")))
    birth = as_of - (ages * 365.25).astype("timedelta64[D]") - rng.integers(0, 365, n).astype("timedelta64[D]")
    birth_year = birth.astype("datetime64[Y]").astype(int) + 1970

    kind = hh["kind"]
    residence = np.where(kind == "rental", "floating", np.where(kind == "foreign", "foreign", "registered"))
    county = hh["county_code"]
    outside = rng.random(n) < 0.4
    origins = np.array(list(identity.OUTSIDE_ORIGINS))
    local_other = np.array(sorted(county_names))
    origin = np.where(outside, origins[rng.integers(0, len(origins), n)], local_other[rng.integers(0, len(local_other), n)])
    region = np.where(residence == "floating", origin, county)
    prefix = identity.id_prefixes(region, birth_year)
    ids = identity.id_numbers(prefix, birth, sex)
    names = random_names(rng, sex, birth_year)

    foreign = residence == "foreign"
    n_foreign = int(foreign.sum())
    passport = np.char.add("E", np.char.zfill(rng.integers(0, 10**8, n_foreign).astype(str), 8))
    ids[foreign] = passport

    adult = ages >= 16
    phones = np.where(adult, identity.phone_numbers(rng, n), None)
    marital = np.select(
        [ages < 22, ages < 30, ages < 70],
        [np.full(n, "single"), np.where(rng.random(n) < 0.5, "married", "single"),
         np.where(rng.random(n) < 0.93, "married", "divorced")],
        np.where(rng.random(n) < 0.35, "widowed", "married"))
    marital[(relation == "spouse") | ((relation == "head") & (sizes[rep] > 1) & (ages >= 22))] = "married"
    edu_levels = np.array(["none", "primary", "junior", "senior", "college", "bachelor", "graduate"])
    edu_shift = np.clip((birth_year - 1940) / 20, 0, 3.2)
    edu_idx = np.clip(np.round(rng.normal(1 + edu_shift, 1.0)), 0, 6).astype(int)
    edu_idx = np.where(ages < 7, 0, np.minimum(edu_idx, np.clip(((ages - 6) // 3).astype(int), 0, 6)))
    occupation = np.select(
        [ages < 6, ages < 18, ages >= 62],
        ["学龄前儿童", "学生", np.where(rural, "务农", "离退休人员")],
        np.array(["务农", "外出务工", "个体经营", "企业职工", "机关事业单位", "无业"])[
            rng.choice(6, n, p=[0.30, 0.28, 0.12, 0.16, 0.06, 0.08])])
    occupation = np.where(~rural & (occupation == "务农"), "企业职工", occupation)

    persons = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "id_number": ids,
        "name": names,
        "sex": sex,
        "birth_date": iso_days(birth),
        "ethnicity": ETHNIC[rng.choice(len(ETHNIC), n, p=ETHNIC_P)],
        "native_place": region,
        "marital": marital,
        "education": edu_levels[edu_idx],
        "occupation": occupation,
        "phone": phones,
        "residence_type": residence,
        "household_id": hh["id"],
        "relation_to_head": relation,
        "registered_here": residence == "registered",
        # the numbers are made with their check character (identity.id_numbers); foreign residents carry documents
        "id_valid": np.where(residence == "foreign", None, True),
        "registered_address": np.where(residence == "floating",
                                       pd.Series(region).map({**identity.OUTSIDE_ORIGINS,
                                                              **{c: "陕西省安康市" + nm for c, nm in county_names.items()}}),
                                       None),
    })
    for col in cols[2:]:
        persons[col] = hh[col]
    persons["age"] = ages  # for drawing special populations; not stored

    fl = persons.loc[residence == "floating", ["id"]].rename(columns={"id": "person_id"})
    m = len(fl)
    reasons = np.array(["work", "business", "study", "family", "other"])
    reg_on = as_of - rng.integers(10, 2000, m).astype("timedelta64[D]")
    fl["inflow_reason"] = reasons[rng.choice(5, m, p=[0.55, 0.2, 0.08, 0.12, 0.05])]
    has_permit = rng.random(m) < 0.7
    fl["permit_no"] = np.where(has_permit, np.char.add("AK", np.char.zfill(rng.integers(0, 10**10, m).astype(str), 10)), None)
    fl["registered_on"] = iso_days(reg_on)
    fl["expires_on"] = np.where(has_permit, iso_days(reg_on + 365), None)
    fl["focus"] = rng.random(m) < 0.02

    fo = persons.loc[foreign, ["id"]].rename(columns={"id": "person_id"})
    from .names import FOREIGN_NAMES
    pick = rng.integers(0, len(FOREIGN_NAMES), n_foreign)
    arrived = as_of - rng.integers(30, 1500, n_foreign).astype("timedelta64[D]")
    fo["foreign_name"] = [FOREIGN_NAMES[i][1] for i in pick]
    fo["nationality"] = [FOREIGN_NAMES[i][0] for i in pick]
    fo["document_type"] = "普通护照"
    fo["document_no"] = passport
    fo["document_expiry"] = iso_days(as_of + rng.integers(100, 3000, n_foreign).astype("timedelta64[D]"))
    fo["purpose"] = np.array(["work", "study", "visit", "business"])[rng.integers(0, 4, n_foreign)]
    fo["arrived_on"] = iso_days(arrived)
    fo["departs_on"] = iso_days(arrived + rng.integers(200, 1800, n_foreign).astype("timedelta64[D]"))
    persons.loc[foreign, "name"] = fo["foreign_name"].to_numpy()
    return persons, fl, fo
