"""Organisations, cameras, disputes with workflow histories, grid workers and survey figures."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from console.store.codes import DISPUTE_CATEGORIES, DISPUTE_DEADLINE_DAYS

from . import rates
from .identity import camera_device_ids, credit_codes, phone_numbers
from .names import random_names

ORG_WORDS = ("兴安", "汉江", "秦巴", "富硒", "安康", "瀛湖", "香溪", "凤凰", "巴山", "金州", "茗香", "绿源")
ENTERPRISE_TRADES = ("茶业有限公司", "建筑工程有限公司", "商贸有限公司", "食品有限公司", "物流有限公司",
                     "新材料有限公司", "农业开发有限公司", "电子科技有限公司", "矿业有限公司", "餐饮店")
SOCIAL_KINDS = ("志愿者协会", "商会", "老年协会", "红白理事会", "养老服务中心", "社会工作服务中心", "调解协会")
DEPARTMENTS = {"village": "村（社区）人民调解委员会", "town": "镇（街道）综治中心", "county": "县（区）矛盾纠纷调处中心"}
TITLE_TEMPLATES = {
    "family": "家庭成员赡养纠纷", "neighbour": "邻里排水纠纷", "homestead": "宅基地界址纠纷", "contract": "买卖合同纠纷",
    "business": "生产经营纠纷", "damages": "人身损害赔偿纠纷", "land": "林地权属纠纷", "demolition": "征地补偿纠纷",
    "environment": "养殖污染纠纷", "labour": "拖欠农民工工资纠纷", "medical": "医疗费用纠纷", "traffic": "交通事故赔偿纠纷",
    "property": "物业服务费纠纷", "fire": "消防通道占用纠纷", "other": "其他矛盾纠纷",
}
SATISFACTION_KEYS, SATISFACTION_P = ("very_satisfied", "satisfied", "neutral", "dissatisfied"), (0.5, 0.4, 0.08, 0.02)
SOURCES, SOURCE_P = ("grid", "hotline12345", "visit", "police"), (0.6, 0.2, 0.15, 0.05)
HARD = {"demolition", "labour", "medical", "environment", "land"}


def _pick_sites(rng, buildings: pd.DataFrame, n: int, urban_bias: float, jitter_deg: float) -> pd.DataFrame:
    """Sites near buildings (weighted by dwellings and an urban bias), jittered a little."""
    w = buildings["dwellings"].to_numpy() * np.where(buildings["village_kind"].eq("community"), urban_bias, 1.0)
    idx = rng.choice(len(buildings), n, p=w / w.sum())
    site = buildings.iloc[idx][["lon", "lat", "village_code", "address"]].reset_index(drop=True)
    site["base_lon"], site["base_lat"] = site["lon"].to_numpy(), site["lat"].to_numpy()  # fallback if jitter leaves the city
    site["lon"] = site["lon"] + rng.normal(0, jitter_deg, n)
    site["lat"] = site["lat"] + rng.normal(0, jitter_deg, n)
    return site


def organisations(rng, buildings: pd.DataFrame, residents: int) -> pd.DataFrame:
    n_social = max(1, round(residents * rates.SOCIAL_ORG_RATE))
    n_ent = max(1, round(residents * rates.ENTERPRISE_RATE))
    n = n_social + n_ent
    site = _pick_sites(rng, buildings, n, urban_bias=3.0, jitter_deg=0.0004)
    social = np.arange(n) < n_social
    word = np.array(ORG_WORDS)[rng.integers(0, len(ORG_WORDS), n)]
    place = site["address"].str.slice(0, 3).to_numpy()
    trade = np.where(social, np.array(SOCIAL_KINDS)[rng.integers(0, len(SOCIAL_KINDS), n)],
                     np.array(ENTERPRISE_TRADES)[rng.integers(0, len(ENTERPRISE_TRADES), n)])
    serial = np.char.zfill(np.arange(n).astype(str), 4)
    name = np.char.add(np.char.add(np.char.add(place.astype(str), word), trade), np.where(social, "", ""))
    name = np.where(pd.Series(name).duplicated(keep="first").to_numpy(), np.char.add(name, serial), name)
    ent_types = np.array(["private", "individual", "foreign", "joint"])
    out = pd.DataFrame({
        "credit_code": credit_codes(rng, site["village_code"].str[:6].to_numpy(), social),
        "name": name,
        "kind": np.where(social, "social", "enterprise"),
        "org_type": np.where(social, np.array(["association", "nonprofit", "foundation"])[rng.choice(3, n, p=[0.55, 0.43, 0.02])],
                             ent_types[rng.choice(4, n, p=[0.7, 0.27, 0.01, 0.02])]),
        "registration_authority": np.where(social, "民政局", "市场监督管理局"),
        "legal_rep": random_names(rng, np.where(rng.random(n) < 0.7, "M", "F"), np.full(n, 1975)),
        "address": site["address"].to_numpy(),
        "status": np.array(["active", "suspended", "revoked"])[rng.choice(3, n, p=[0.93, 0.05, 0.02])],
        "security_head": random_names(rng, np.where(rng.random(n) < 0.8, "M", "F"), np.full(n, 1978)),
        "concern_level": np.array(["normal", "medium", "serious"])[rng.choice(3, n, p=[0.9, 0.08, 0.02])],
        "has_party_org": rng.random(n) < np.where(social, 0.3, 0.12),
        "employees": np.where(social, rng.integers(1, 30, n), np.clip(rng.lognormal(2.2, 1.1, n), 1, 3000).astype(int)),
        "lon": site["lon"].to_numpy(), "lat": site["lat"].to_numpy(),
        "base_lon": site["base_lon"].to_numpy(), "base_lat": site["base_lat"].to_numpy(),
    })
    out["foreign_background"] = out["org_type"].isin(["foreign", "joint"])
    return out


def cameras(rng, buildings: pd.DataFrame, scale: float, as_of) -> pd.DataFrame:
    n = max(1, round(rates.CAMERAS_FULL_SCALE * scale))
    site = _pick_sites(rng, buildings, n, urban_bias=4.0, jitter_deg=0.0006)
    kinds = np.array(list(rates.CAMERA_KIND_SHARES))
    kind = kinds[rng.choice(len(kinds), n, p=list(rates.CAMERA_KIND_SHARES.values()))]
    online = rng.random(n) < rates.CAMERA_ONLINE_RATE
    now = pd.Timestamp(as_of) + pd.Timedelta(hours=8)
    beat = np.where(online, now - pd.to_timedelta(rng.integers(5, 120, n), unit="s"),
                    now - pd.to_timedelta(rng.integers(600, 14 * 86400, n), unit="s"))
    labels = {"bullet": "枪机", "dome": "球机", "hemisphere": "半球", "face": "人脸卡口", "vehicle": "车辆卡口"}
    county = site["village_code"].str[:6].to_numpy()
    return pd.DataFrame({
        "device_id": camera_device_ids(county, pd.Series(kind).map(rates.CAMERA_KIND_CODE).to_numpy(), np.arange(1, n + 1)),
        "name": site["address"].str.replace(r"\d+单元.*$", "", regex=True).to_numpy() + pd.Series(kind).map(labels).to_numpy(),
        "kind": kind,
        "direction": rng.integers(0, 360, n),
        "status": np.where(online, "online", "offline"),
        "last_heartbeat": pd.Series(beat).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "lon": site["lon"].to_numpy(), "lat": site["lat"].to_numpy(),
        "base_lon": site["base_lon"].to_numpy(), "base_lat": site["base_lat"].to_numpy(),
    })


def _history(rng, registered, complexity, hard, as_of):
    """A plausible workflow path for one case and the time each step happened (hours after registration)."""
    limit_h = DISPUTE_DEADLINE_DAYS[complexity] * 24
    age_h = (as_of - registered).total_seconds() / 3600
    steps = [("registered", 0.0), ("accepted", rng.uniform(0.2, 4)), ("assigned", rng.uniform(4, 12))]
    t = steps[-1][1]
    steps.append(("mediating", t + rng.uniform(1, 24)))
    t = steps[-1][1]
    overdue = rng.random() < (0.12 if hard else 0.04)
    took = limit_h * (rng.uniform(1.05, 2.5) if overdue else rng.uniform(0.2, 0.95))
    success = rng.random() > (0.15 if hard else 0.03)
    if not success:
        steps += [("unresolved", t + took), ("escalated", t + took + rng.uniform(4, 48))]
        t = steps[-1][1]
        steps.append(("mediating", t + rng.uniform(2, 24)))
        t = steps[-1][1]
        took = limit_h * rng.uniform(0.3, 1.2)
        if rng.random() < 0.3:
            steps.append(("referred", t + took))
            return [s for s in steps if s[1] <= age_h], False
    steps.append(("resolved", t + took))
    t = steps[-1][1]
    steps += [("feedback", t + rng.uniform(2, 48)), ("revisited", t + rng.uniform(72, 240)),
              ("archived", t + rng.uniform(260, 400))]
    return [s for s in steps if s[1] <= age_h], success


def disputes(rng, buildings: pd.DataFrame, persons: pd.DataFrame, residents: int, as_of) -> tuple[pd.DataFrame, ...]:
    """Returns (disputes, parties, events). `persons` needs id, name, id_number, sex, phone, village_code, age."""
    months = rates.DISPUTE_MONTHS
    n = max(1, round(residents * rates.DISPUTES_PER_RESIDENT_YEAR * months / 12))
    site = _pick_sites(rng, buildings, n, urban_bias=1.2, jitter_deg=0.0003)
    cats = np.array(list(rates.DISPUTE_CATEGORY_SHARES))
    p = np.array(list(rates.DISPUTE_CATEGORY_SHARES.values()))
    category = cats[rng.choice(len(cats), n, p=p / p.sum())]
    end = pd.Timestamp(as_of)
    registered = (end - pd.to_timedelta(rng.uniform(0, months * 30.4 * 86400, n), unit="s")).floor("s")
    order = np.argsort(registered.to_numpy())
    registered, category, site = registered[order], category[order], site.iloc[order].reset_index(drop=True)
    hard = np.isin(category, list(HARD))
    complexity = np.where(hard, np.where(rng.random(n) < 0.6, "complex", "mediation"),
                          np.array(["simple", "ordinary", "mediation"])[rng.choice(3, n, p=[0.35, 0.45, 0.2])])
    level = np.select([complexity == "simple", complexity == "complex"], ["village", "county"], "town")
    scale_people = np.where(hard, rng.integers(2, 60, n), rng.integers(2, 6, n))
    adults = persons[persons["age"] >= 18]
    by_village = adults.groupby("village_code").indices
    a_name, a_id, a_sex, a_phone = (adults[c].to_numpy() for c in ("name", "id_number", "sex", "phone"))
    s_village, s_address = site["village_code"].to_numpy(), site["address"].to_numpy()
    s_lon, s_lat, s_blon, s_blat = (site[c].to_numpy() for c in ("lon", "lat", "base_lon", "base_lat"))
    reg_py = registered.to_pydatetime()
    end_py = end.to_pydatetime()
    rows, party_rows, event_rows = [], [], []
    serial: dict[tuple[str, str], int] = {}
    for i in range(n):
        reg = reg_py[i]
        steps, success = _history(rng, reg, complexity[i], hard[i], end_py)
        state = steps[-1][0]
        county = s_village[i][:6]
        day = reg.strftime("%Y%m%d")
        serial[(county, day)] = serial.get((county, day), 0) + 1
        assigned = len(steps) > 2
        deadline = reg + timedelta(days=DISPUTE_DEADLINE_DAYS[complexity[i]], hours=steps[2][1] if assigned else 0)
        closed = state in ("resolved", "feedback", "revisited", "archived", "referred")
        closed_at = next((reg + timedelta(hours=h) for s, h in steps if s in ("resolved", "referred")), None)
        people_n = int(scale_people[i])
        rows.append({
            "id": i + 1, "code": f"JF{county}{day}{serial[(county, day)]:04d}",
            "title": s_address[i][:10] + TITLE_TEMPLATES[category[i]], "category": category[i],
            "occurred_on": (reg - timedelta(days=int(rng.integers(0, 10)))).strftime("%Y-%m-%d"),
            "registered_at": reg.strftime("%Y-%m-%d %H:%M:%S"), "place": s_address[i], "scale": people_n,
            "description": f"{DISPUTE_CATEGORIES[category[i]]}，涉及{people_n}人，网格员排查发现并登记。",
            "risk_grade": "high" if people_n >= 30 else ("medium" if hard[i] else "low"),
            "complexity": complexity[i], "state": state,
            "handling_level": level[i] if assigned else None,
            "department": DEPARTMENTS[level[i]] if assigned else None,
            "handler": None, "deadline": deadline.strftime("%Y-%m-%d %H:%M:%S"),
            "success": (success if closed else None), "outcome": ("调解成功，双方签订协议" if closed and success else None),
            "satisfaction": (SATISFACTION_KEYS[int(rng.choice(4, p=SATISFACTION_P))] if state in ("revisited", "archived") else None),
            "closed_at": closed_at.strftime("%Y-%m-%d %H:%M:%S") if closed and closed_at else None,
            "source": SOURCES[int(rng.choice(4, p=SOURCE_P))],
            "lon": s_lon[i], "lat": s_lat[i], "base_lon": s_blon[i], "base_lat": s_blat[i],
        })
        for seq, (s, h) in enumerate(steps):
            event_rows.append((i + 1, seq, (reg + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S"),
                               steps[seq - 1][0] if seq else None, s, "网格员" if seq == 0 else DEPARTMENTS[level[i]], ""))
        pool = by_village.get(s_village[i])
        if pool is not None and len(pool) >= 2:
            for role, j in zip(("applicant", "respondent"), rng.choice(pool, 2, replace=False)):
                party_rows.append((i + 1, role, a_name[j], a_id[j], a_sex[j], a_phone[j]))
    frame = pd.DataFrame(rows)
    handlers = random_names(rng, np.where(rng.random(n) < 0.6, "M", "F"), np.full(n, 1980))
    frame["handler"] = np.where(frame["handling_level"].notna(), handlers, None)
    parties = pd.DataFrame(party_rows, columns=["dispute_id", "role", "name", "id_number", "sex", "phone"])
    parties.insert(0, "id", np.arange(1, len(parties) + 1))
    events = pd.DataFrame(event_rows, columns=["dispute_id", "seq", "at", "from_state", "to_state", "actor", "note"])
    events.insert(0, "id", np.arange(1, len(events) + 1))
    return frame, parties, events


def grid_workers(rng, grid_codes: list[str]) -> pd.DataFrame:
    n = len(grid_codes)
    codes = np.repeat(np.asarray(grid_codes), 2)
    roles = np.tile(["captain", "worker"], n)
    sex = np.where(rng.random(2 * n) < 0.55, "F", "M")
    return pd.DataFrame({"id": np.arange(1, 2 * n + 1), "grid_code": codes, "role": roles,
                         "name": random_names(rng, sex, np.full(2 * n, 1982)), "phone": phone_numbers(rng, 2 * n)})


def surveys(rng, county_codes: list[str], as_of_year: int) -> pd.DataFrame:
    """Synthetic 两率两度 around Ankang's published 2021 figures (98 % +), flagged synthetic."""
    rows = []
    base = {"awareness": 97.6, "participation": 93.5, "security": 98.1, "satisfaction": 98.3}
    for code in county_codes:
        for year in range(as_of_year - 4, as_of_year):
            for ind, b in base.items():
                rows.append({"county_code": code, "year": year, "indicator": ind,
                             "rate": round(float(np.clip(b + rng.normal(0.1 * (year - as_of_year + 4), 0.6), 85, 99.9)), 2),
                             "synthetic": True})
    out = pd.DataFrame(rows)
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return out
