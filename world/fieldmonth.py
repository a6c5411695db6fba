"""A month of grid-worker field work for the demo world (docs/demo-world.md): patrols with GPS tracks and check-ins
at households and key places, tasks from the duty desk with their steps (most reported on time, some late, some
still open past their deadline and escalated), so 督导考评 has data to score.

Deterministic: its own generator from the seed, so the rest of the world is unchanged by it. The month is the 30
days before `as_of`; times are stored as UTC (naive), drawn as Beijing working hours. Each grid's 网格员 (the
`grid_worker` row of role "worker") works as the account `worker_username(grid_code)`; grids without households
have nothing to patrol and no worker activity."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from console.duty.rules import task_due_hours
from console.field.codes import ACCURACY_LIMIT_M

DAYS = 30
FIX_EVERY_MIN = 4  # one kept fix every 4 minutes of walking (the phone keeps more; the demo stays small)
STEP_M = 110.0  # metres between two fixes on average (about 2 km/h with stops)
FULL_LOOP_SCALE = 0.1  # below this scale only a share (10 × scale) of the grids' workers is simulated: small test
                       # worlds stay small (their grids are as many as the city's, their households few)
COARSE_SHARE = 0.03  # fixes coarser than ACCURACY_LIMIT_M: stored in the phone's record, not in the distance
DUTY_OFFICER = "duty"  # the demo duty account (console/security/bootstrap.py)
M_PER_DEG_LAT = 111_320.0
# Task types: (alert rule, severity, title, share)
TASK_TYPES = (
    ("repeated_in_grid", "medium", "网格内同类事件多发，请现场核查", 0.25),
    ("dispute_scale", "high", "矛盾纠纷有升级苗头，请到场了解化解", 0.2),
    ("followup_overdue", "medium", "特殊人群随访超期，请尽快随访", 0.2),
    ("camera_offline", "low", "摄像机离线，请现场查看供电和线路", 0.15),
    ("mental_risk", "high", "精神障碍患者情绪异常，请联系监护人并到场", 0.1),
    ("missing_person", "high", "群众报告人员走失，请协助查找", 0.1),
)
ON_TIME, LATE = 0.80, 0.12  # the rest: still open past the deadline (escalated)


def sqlite_time(ts: np.ndarray) -> np.ndarray:
    """As the store writes a DateTime on SQLite ("YYYY-MM-DD HH:MM:SS")."""
    return np.char.replace(np.datetime_as_string(ts.astype("datetime64[s]"), unit="s"), "T", " ").astype(object)


def worker_username(grid_code: str) -> str:
    """The demo account of a grid's 网格员 (one per grid)."""
    return f"wg{grid_code}"


def _haversine(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def _utc(day: np.ndarray, beijing_minutes: np.ndarray) -> np.ndarray:
    return day.astype("datetime64[m]") + (beijing_minutes - 8 * 60).astype("timedelta64[m]")


def active_grids(rng, grids: pd.DataFrame, households: pd.DataFrame, scale: float) -> pd.DataFrame:
    """The grids whose worker works in the demo month: those with households (at small scales a share of them)."""
    with_households = grids[grids["code"].isin(households["grid_code"].unique())]
    share = min(1.0, scale / FULL_LOOP_SCALE)
    return with_households[rng.random(len(with_households)) < share].reset_index(drop=True)


def patrols(rng, active: pd.DataFrame, households: pd.DataFrame, orgs: pd.DataFrame, as_of64):
    """(patrol, patrol_checkin) frames for the month."""
    n_grid = len(active)
    diligence = rng.beta(5, 2, n_grid)  # some workers patrol nearly daily, a few rarely
    per_worker = rng.binomial(DAYS, 0.75 * diligence)
    g_of = np.repeat(np.arange(n_grid), per_worker)
    n = len(g_of)
    day_off = np.concatenate([np.sort(rng.choice(DAYS, k, replace=False)) for k in per_worker]) if n else np.array([], int)
    day = as_of64 - DAYS + day_off
    start_min = rng.integers(8 * 60 + 30, 16 * 60, n)
    minutes = rng.integers(40, 150, n)
    started, ended = _utc(day, start_min), _utc(day, start_min + minutes)
    n_fix = np.maximum(2, minutes // FIX_EVERY_MIN)
    total = int(n_fix.sum())
    owner = np.repeat(np.arange(n), n_fix)
    first = np.concatenate([[0], np.cumsum(n_fix)[:-1]]) if n else np.array([], int)
    # A persistent random walk from the grid's label point, kept inside the grid's box.
    lon0, lat0 = active["label_lon"].to_numpy()[g_of], active["label_lat"].to_numpy()[g_of]
    heading = rng.uniform(0, 2 * np.pi, n)[owner] + np.cumsum(rng.normal(0, 0.6, total))
    step = rng.gamma(4, STEP_M / 4, total)
    step[first] = 0
    m_per_deg_lon = M_PER_DEG_LAT * np.cos(np.radians(lat0[owner]))
    dx, dy = step * np.cos(heading) / m_per_deg_lon, step * np.sin(heading) / M_PER_DEG_LAT
    cx, cy = np.cumsum(dx), np.cumsum(dy)
    base_x, base_y = np.repeat(cx[first] - dx[first], n_fix), np.repeat(cy[first] - dy[first], n_fix)
    lon = np.clip(lon0[owner] + cx - base_x, active["min_lon"].to_numpy()[g_of][owner],
                  active["max_lon"].to_numpy()[g_of][owner])
    lat = np.clip(lat0[owner] + cy - base_y, active["min_lat"].to_numpy()[g_of][owner],
                  active["max_lat"].to_numpy()[g_of][owner])
    accuracy = np.round(rng.lognormal(np.log(12), 0.5, total), 1)
    coarse = rng.random(total) < COARSE_SHARE
    accuracy[coarse] = np.round(rng.uniform(ACCURACY_LIMIT_M * 1.5, 3000, coarse.sum()), 0)
    good = accuracy <= ACCURACY_LIMIT_M
    # distance: consecutive usable fixes of the same patrol
    gi = np.flatnonzero(good)
    same = owner[gi][1:] == owner[gi][:-1]
    legs = _haversine(lon[gi][:-1], lat[gi][:-1], lon[gi][1:], lat[gi][1:]) * same
    distance = np.bincount(owner[gi][1:], weights=legs, minlength=n) if len(gi) > 1 else np.zeros(n)
    points = np.bincount(owner[gi], minlength=n)
    tracks = [""] * n
    kept_lon, kept_lat, kept_owner = np.round(lon[gi], 6), np.round(lat[gi], 6), owner[gi]
    bounds = np.searchsorted(kept_owner, np.arange(n + 1))
    for p in range(n):
        a, b = bounds[p], bounds[p + 1]
        if b - a >= 2:
            tracks[p] = json.dumps({"type": "LineString", "coordinates": np.column_stack(
                (kept_lon[a:b], kept_lat[a:b])).tolist()}, separators=(",", ":"))
        elif b - a == 1:
            tracks[p] = json.dumps({"type": "Point", "coordinates": [kept_lon[a], kept_lat[a]]})
    last = np.maximum(bounds[1:] - 1, 0)
    has = bounds[1:] > bounds[:-1]
    codes = active["code"].to_numpy()[g_of]
    village = active["village_code"].to_numpy()[g_of]
    patrol = pd.DataFrame({
        "id": np.arange(1, n + 1), "uuid": [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, n + 1)],
        "worker": [worker_username(c) for c in codes], "started_at": sqlite_time(started), "ended_at": sqlite_time(ended),
        "distance_m": np.round(distance, 1), "points": points, "track": tracks,
        "lon": np.where(has, kept_lon[last] if len(kept_lon) else np.nan, lon0),
        "lat": np.where(has, kept_lat[last] if len(kept_lat) else np.nan, lat0),
        "county_code": [v[:6] for v in village], "town_code": [v[:9] for v in village], "village_code": village,
        "grid_code": codes, "assign_generation": active["generation_low"].to_numpy()[g_of],
    })
    return patrol, checkins(rng, patrol, households, orgs, started, minutes, g_of, codes)


def checkins(rng, patrol, households, orgs, started, minutes, g_of, codes) -> pd.DataFrame:
    """Each worker visits most of the grid's households in the month (巡查覆盖率 ≈ 60–100 %) and some key places,
    each at a moment of one of the own patrols."""
    if patrol.empty:
        return pd.DataFrame(columns=["id", "uuid", "patrol_id", "kind", "household_id", "place_id", "at", "lon",
                                     "lat", "accuracy_m"])
    by_grid = pd.Series(np.arange(len(patrol))).groupby(codes).apply(np.asarray).to_dict()
    coverage = dict(zip(by_grid, np.clip(rng.beta(6, 1.6, len(by_grid)), 0, 1)))
    frames = []
    for kind, table, share in (("household", households, None), ("key_place", orgs, 0.6)):
        t = table[table["grid_code"].isin(by_grid)]
        if t.empty:
            continue
        p_visit = t["grid_code"].map(coverage).to_numpy() if share is None else np.full(len(t), share)
        hit = t[rng.random(len(t)) < p_visit]
        pick = np.array([rng.choice(by_grid[g]) for g in hit["grid_code"]], dtype=int)
        at = started[pick] + (rng.random(len(pick)) * minutes[pick]).astype("timedelta64[m]")
        frames.append(pd.DataFrame({
            "patrol_id": patrol["id"].to_numpy()[pick], "kind": kind,
            "household_id": hit["id"].to_numpy() if kind == "household" else None,
            "place_id": hit["id"].to_numpy() if kind == "key_place" else None, "at": sqlite_time(at),
            "lon": hit["lon"].to_numpy(), "lat": hit["lat"].to_numpy(),
            "accuracy_m": np.round(rng.lognormal(np.log(10), 0.4, len(hit)), 1)}))
    out = pd.concat(frames, ignore_index=True).sort_values(["at", "patrol_id"], kind="stable").reset_index(drop=True)
    out["household_id"] = out["household_id"].astype("Int64")
    out["place_id"] = out["place_id"].astype("Int64")
    out.insert(0, "uuid", [f"00000000-0000-4000-9000-{i:012d}" for i in range(1, len(out) + 1)])
    out.insert(0, "id", np.arange(1, len(out) + 1))
    return out


def tasks(rng, active: pd.DataFrame, as_of64):
    """(field_task, field_task_step): a few tasks per active grid in the month, with every step kept."""
    per_grid = rng.poisson(1.0, len(active))
    g_of = np.repeat(np.arange(len(active)), per_grid)
    n = len(g_of)
    kinds = rng.choice(len(TASK_TYPES), n, p=[t[3] for t in TASK_TYPES])
    hours = np.array([task_due_hours(TASK_TYPES[k][0], TASK_TYPES[k][1]) for k in kinds])
    created = _utc(as_of64 - DAYS + rng.integers(0, DAYS, n), rng.integers(7 * 60, 21 * 60, n))
    due = created + (hours * 60).astype("timedelta64[m]")
    fate = rng.random(n)
    open_late = (fate >= ON_TIME + LATE) & (due < as_of64.astype("datetime64[m]"))
    late = (fate >= ON_TIME) & ~open_late
    took = np.where(late, hours * rng.uniform(1.1, 2.0, n), hours * rng.uniform(0.15, 0.9, n))
    reported = created + (took * 60).astype("timedelta64[m]")
    reported = np.minimum(reported, as_of64.astype("datetime64[m]") - 1)
    accepted = created + (np.minimum(took * 0.15, 30) * 60).astype("timedelta64[m]") + 1
    handling = created + (took * 0.4 * 60).astype("timedelta64[m]") + 2
    codes = active["code"].to_numpy()[g_of]
    lon = active["label_lon"].to_numpy()[g_of] + rng.normal(0, 0.002, n)
    lat = active["label_lat"].to_numpy()[g_of] + rng.normal(0, 0.002, n)
    state = np.where(open_late, np.where(rng.random(n) < 0.5, "accepted", "assigned"), "reported")
    village = active["village_code"].to_numpy()[g_of]
    task = pd.DataFrame({
        "id": np.arange(1, n + 1), "alert_id": None, "assignee": [worker_username(c) for c in codes],
        "title": [TASK_TYPES[k][2] for k in kinds], "note": "请按期限处置并回报", "state": state,
        "due_at": sqlite_time(due), "created_by": DUTY_OFFICER, "created_at": sqlite_time(created),
        "updated_at": sqlite_time(np.where(open_late, np.where(state == "accepted", accepted, created), reported)),
        "report": np.where(state == "reported", "已到场处置，情况已核实并反馈当事人", ""),
        "lon": lon, "lat": lat, "county_code": [v[:6] for v in village], "town_code": [v[:9] for v in village],
        "village_code": village, "grid_code": codes, "assign_generation": active["generation_low"].to_numpy()[g_of],
    })
    steps = []
    escalate = "超过期限未回报，已向值班台报警"
    for i in range(n):
        tid, who = i + 1, task.at[i, "assignee"]
        steps.append((tid, created[i], DUTY_OFFICER, "dispatch", None, "assigned", "请按期限处置并回报", None, None))
        if state[i] == "assigned":
            steps.append((tid, due[i] + 1, "system", "escalate", "assigned", "assigned", escalate, None, None))
            continue
        steps.append((tid, accepted[i], who, "accept", "assigned", "accepted", "", None, None))
        if state[i] == "accepted":
            steps.append((tid, due[i] + 1, "system", "escalate", "accepted", "accepted", escalate, None, None))
            continue
        steps.append((tid, handling[i], who, "handle", "accepted", "handling", "", None, None))
        steps.append((tid, reported[i], who, "report", "handling", "reported", task.at[i, "report"], lon[i], lat[i]))
    step = pd.DataFrame(steps, columns=["task_id", "at", "actor", "action", "from_state", "to_state", "text", "lon",
                                        "lat"])
    step["at"] = sqlite_time(step["at"].to_numpy().astype("datetime64[m]"))
    step["accuracy_m"] = np.where(step["lon"].notna(), 12.0, np.nan)
    step.insert(0, "id", np.arange(1, len(step) + 1))
    return task, step


def field_month(seed: int, scale: float, grids: pd.DataFrame, households: pd.DataFrame, orgs: pd.DataFrame,
                as_of64) -> dict:
    rng = np.random.default_rng([seed, 17])
    active = active_grids(rng, grids, households, scale)
    patrol, checkin = patrols(rng, active, households, orgs, as_of64)
    task, step = tasks(rng, active, as_of64)
    return {"patrol": patrol, "patrol_checkin": checkin, "field_task": task, "field_task_step": step}
