"""特殊人群 and 重点青少年 drawn from the synthetic residents at the rates in `rates.py`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from . import rates
from .identity import iso_days, phone_numbers
from .names import random_names

LOCATED = ("lon", "lat", "county_code", "town_code", "village_code", "grid_code", "assign_generation")
CHARGES = ("盗窃罪", "故意伤害罪", "诈骗罪", "危险驾驶罪", "寻衅滋事罪", "开设赌场罪", "非法采矿罪", "交通肇事罪")
PRISONS = ("陕西省汉中监狱", "陕西省安康监狱", "陕西省宝鸡监狱", "陕西省女子监狱", "陕西省延安监狱")
DIAGNOSES = ("精神分裂症", "双相情感障碍", "偏执性精神病", "分裂情感性障碍", "癫痫所致精神障碍", "精神发育迟滞伴发精神障碍")
# Who is eligible: (min age, max age, share male).
ELIGIBLE = {"released": (20, 75, 0.9), "correction": (18, 70, 0.85), "drug": (18, 60, 0.8),
            "mental": (15, 90, 0.52), "aids": (18, 60, 0.75)}


def _dates(as_of, rng, lo_days, hi_days, n):
    return iso_days(as_of - rng.integers(lo_days, hi_days, n).astype("timedelta64[D]"))


def _details(category, rng, n, as_of):
    """Category fields from docs/domain.md §3, as JSON text."""
    r = rng.random((n, 4))
    out = []
    for i in range(n):
        if category == "released":
            d = {"original_charge": CHARGES[int(r[i, 0] * len(CHARGES))], "sentence_months": int(6 + r[i, 1] * 114),
                 "prison": PRISONS[int(r[i, 2] * len(PRISONS))],
                 "placement": ["已衔接", "已安置", "未安置"][int(r[i, 3] * 3)], "reoffended": bool(r[i, 3] > 0.97)}
        elif category == "correction":
            kinds = ["control", "probation", "parole", "medical_parole"]
            d = {"case_no": f"(20{20 + int(r[i, 0] * 6)})陕09矫{int(r[i, 1] * 9000) + 1000}号",
                 "correction_type": kinds[min(int(r[i, 2] ** 0.6 * 4), 3)],
                 "charge": CHARGES[int(r[i, 3] * len(CHARGES))], "absconded": bool(r[i, 0] > 0.985),
                 "tag": bool(r[i, 1] > 0.4)}
        elif category == "drug":
            ctl = ["community_detox", "community_rehab", "voluntary", "abstinent"]
            d = {"control": ctl[int(r[i, 0] * 4)], "relapse": bool(r[i, 1] > 0.85)}
        elif category == "mental":
            d = {"diagnosis": DIAGNOSES[int(r[i, 0] * len(DIAGNOSES))], "incident_history": bool(r[i, 1] > 0.9),
                 "treatment": ["规律服药", "间断服药", "未服药", "住院治疗"][int(r[i, 2] * 4)],
                 "management_level": ["一般", "重点", "特别重点"][int(r[i, 3] ** 2 * 3)],
                 "follow_up_days": [90, 30, 14][int(r[i, 3] ** 2 * 3)]}
        else:
            d = {"category": ["暗娼", "男男性行为", "静脉吸毒"][int(r[i, 0] * 3)], "follow_up": "季度随访"}
        out.append(json.dumps(d, ensure_ascii=False))
    return out


def special_persons(rng: np.random.Generator, persons: pd.DataFrame, as_of: np.datetime64) -> pd.DataFrame:
    """`persons` needs id, sex, age, residence_type and the located columns."""
    frames = []
    taken = np.zeros(len(persons), dtype=bool)
    ages = persons["age"].to_numpy()
    male = persons["sex"].eq("M").to_numpy()
    local = ~persons["residence_type"].eq("foreign").to_numpy()
    for category, rate in rates.SPECIAL_RATES.items():
        lo, hi, share_male = ELIGIBLE[category]
        n = max(1, round(len(persons) * rate))
        ok = (ages >= lo) & (ages <= hi) & local & ~taken
        w = np.where(male, share_male, 1 - share_male) * ok
        if w.sum() == 0:
            continue
        pick = rng.choice(len(persons), min(n, int(ok.sum())), replace=False, p=w / w.sum())
        taken[pick] = True
        sub = persons.iloc[pick]
        m = len(sub)
        frame = pd.DataFrame({"person_id": sub["id"].to_numpy(), "category": category})
        frame["since"] = _dates(as_of, rng, 30, 5 * 365, m)
        if category == "mental":
            level = rng.choice(6, m, p=rates.MENTAL_LEVEL_SHARES)
            frame["risk_level"] = level
            frame["risk_grade"] = np.where(level >= 3, "high", np.where(level >= 1, "medium", "low"))
            frame["status"] = np.where(rng.random(m) < 0.96, "在册管理", "失访")
        else:
            frame["risk_level"] = None
            frame["risk_grade"] = np.array(["low", "medium", "high"])[rng.choice(3, m, p=[0.7, 0.24, 0.06])]
            frame["status"] = np.where(rng.random(m) < 0.95, "在管", "脱管" if category == "correction" else "失联")
        frame["details"] = _details(category, rng, m, as_of)
        for col in LOCATED:
            frame[col] = sub[col].to_numpy()
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return out


def key_youth(rng: np.random.Generator, persons: pd.DataFrame) -> pd.DataFrame:
    ages = persons["age"].to_numpy()
    rural = persons["village_kind"].eq("village").to_numpy()
    types = np.array(list(rates.KEY_YOUTH_TYPES))
    n = round(len(persons) * rates.KEY_YOUTH_RATE)
    kind = types[rng.choice(len(types), n, p=list(rates.KEY_YOUTH_TYPES.values()))]
    chosen, kinds = [], []
    for t in types:
        need = int((kind == t).sum())
        lo, hi = (6, 16) if t in ("left_behind", "prisoner_child") else (12, 25)
        ok = (ages >= lo) & (ages <= hi) & (rural if t == "left_behind" else True)
        pool = np.setdiff1d(np.flatnonzero(ok), np.asarray(chosen, dtype=np.int64))
        take = rng.choice(pool, min(need, len(pool)), replace=False) if len(pool) else np.empty(0, dtype=np.int64)
        chosen.extend(take.tolist())
        kinds.extend([t] * len(take))
    sub = persons.iloc[np.asarray(chosen, dtype=np.int64)]
    m = len(sub)
    guardian_sex = np.where(rng.random(m) < 0.5, "M", "F")
    out = pd.DataFrame({
        "id": np.arange(1, m + 1), "person_id": sub["id"].to_numpy(), "youth_type": kinds,
        "concern_level": np.array(["normal", "medium", "serious"])[rng.choice(3, m, p=[0.75, 0.2, 0.05])],
        "guardian_name": random_names(rng, guardian_sex, np.full(m, 1960)),
        "guardian_phone": phone_numbers(rng, m),
        "helper_name": random_names(rng, np.where(rng.random(m) < 0.5, "M", "F"), np.full(m, 1985)),
        "measures": np.array(["结对帮扶", "心理辅导", "学业辅导", "亲情视频", "法治教育"])[rng.integers(0, 5, m)],
    })
    for col in LOCATED:
        out[col] = sub[col].to_numpy()
    return out


FOLLOWUP_ON_TIME = 0.88  # share of records whose last visit lies within their cycle (the rest: a few days late)


def followup_visits(seed: int, specials: pd.DataFrame, as_of) -> pd.DataFrame:
    """The last follow-up visit of each special-population record, so the overdue rule has a realistic few to
    flag (docs/domain.md §8). Its own generator: the records drawn before are unchanged by it."""
    from console.duty.rules import followup_cycle_days, load_config

    from .fieldmonth import worker_username

    rng = np.random.default_rng([seed, 8])
    config = load_config()
    cycles = np.array([followup_cycle_days(config, c, None if pd.isna(lv) else int(lv)) or 0
                       for c, lv in zip(specials["category"], specials.get("risk_level", pd.Series([None] * len(specials))))])
    late = rng.random(len(specials)) > FOLLOWUP_ON_TIME
    back = np.where(late, cycles + rng.integers(1, 20, len(specials)), (rng.random(len(specials)) * cycles).astype(int))
    visited = np.datetime64(as_of, "D") - back.astype("timedelta64[D]")
    since = pd.to_datetime(specials["since"]).to_numpy().astype("datetime64[D]")
    keep = (cycles > 0) & (visited >= since)
    # the visit before the last one (a cycle earlier, give or take a few days): the month has a history
    before = visited - (cycles + rng.integers(-5, 6, len(specials))).astype("timedelta64[D]")
    keep_before = keep & (before >= since)
    methods = np.array(["visit", "phone", "visit", "clinic"])
    grid = specials["grid_code"].to_numpy()
    worker = np.array([worker_username(g) if isinstance(g, str) and g else "演示数据生成" for g in grid], dtype=object)
    sp_ids = specials["id"].to_numpy()
    out = pd.DataFrame({
        "special_person_id": np.concatenate([sp_ids[keep_before], sp_ids[keep]]),
        "visited_on": np.concatenate([before[keep_before], visited[keep]]).astype(str),
        "worker": np.concatenate([worker[keep_before], worker[keep]]),
    })
    n = len(out)
    out["method"] = methods[rng.integers(0, len(methods), n)]
    out["note"] = ""
    out["recorded_at"] = (pd.to_datetime(out["visited_on"]) + pd.Timedelta(hours=10)).dt.strftime("%Y-%m-%d %H:%M:%S")
    out.insert(0, "id", np.arange(1, n + 1))
    return out[["id", "special_person_id", "visited_on", "method", "worker", "note", "recorded_at"]]
