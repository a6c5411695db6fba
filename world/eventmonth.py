"""A month of reported events for the demo world (docs/demo-world.md): what grid workers (网格通), the 12345 hotline
and the video platform reported in the 30 days before `as_of`, each where it happened and with when it happened and
when it reached the console — so 事件上报及时率 (docs/assessment.md) and the duty history have data.

Volume: Ankang took about 1.26 million reported events in 2022 (docs/domain.md §6), ~105,000 a month, scaled with
the world. Lag: most reports arrive within the hour, about four in five within two hours, a tail over days.
Deterministic: its own generator from the seed, so the rest of the world is unchanged by it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .fieldmonth import sqlite_time

DAYS = 30
PER_MONTH = 105_000
# (source, kind, share, what was reported)
SOURCES = (
    ("网格通", "grid_report", 0.62, ("楼道堆放杂物，存在消防隐患", "路灯损坏，夜间照明不足", "邻里因噪音发生口角",
                                      "出租屋新增租客未登记", "河道边护栏缺失", "流动摊贩占道经营")),
    ("网格通", "dispute_report", 0.13, ("两户因宅基地界线发生争执", "务工人员反映工资被拖欠", "物业与业主因收费产生纠纷")),
    ("12345", "hotline_report", 0.2, ("群众反映小区门口积水严重", "群众反映夜间施工扰民", "群众反映农贸市场秩序混乱")),
    ("雪亮工程", "video_report", 0.05, ("视频巡查发现道路积水", "视频巡查发现人员聚集", "视频巡查发现车辆违停")),
)
WITHIN_2H = 0.8


def event_month(seed: int, scale: float, households: pd.DataFrame, as_of: np.datetime64) -> pd.DataFrame:
    """The `event` table's rows: at household points (where people report from), spread over the month."""
    rng = np.random.default_rng([seed, 2026, 12])
    located = households[households["grid_code"].notna()]
    n = int(round(PER_MONTH * scale))
    if n == 0 or located.empty:
        return pd.DataFrame()
    at = located.iloc[rng.integers(0, len(located), n)]
    shares = np.array([s[2] for s in SOURCES])
    which = rng.choice(len(SOURCES), n, p=shares / shares.sum())
    # Beijing daytime mostly: minutes since the month's start, stored as UTC
    day = rng.integers(0, DAYS, n)
    minute = np.clip(rng.normal(14 * 60, 200, n), 6 * 60, 23 * 60).astype(int)
    start = (as_of - np.timedelta64(DAYS, "D")).astype("datetime64[m]")
    occurred = start + (day * 1440 + minute - 8 * 60).astype("timedelta64[m]")
    # lag: lognormal around 35 minutes, WITHIN_2H of them under two hours
    sigma = 1.45
    mu = np.log(120) - sigma * 0.8416  # P(lag ≤ 120 min) = 0.8 (z = 0.8416)
    lag = np.clip(rng.lognormal(mu, sigma, n), 1, 5 * 1440)
    received = occurred + (lag * 60).astype("timedelta64[s]")
    texts = [SOURCES[w][3][rng.integers(0, len(SOURCES[w][3]))] for w in which]
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "source": [SOURCES[w][0] for w in which],
        "source_event_id": [f"demo-{seed}-{i:07d}" for i in range(n)],
        "kind": [SOURCES[w][1] for w in which],
        "occurred_at": sqlite_time(occurred),
        "received_at": sqlite_time(received),
        "person_id": None, "camera_id": None,
        "payload": [json.dumps({"text": t, "synthetic": True}, ensure_ascii=False) for t in texts],
        "lon": at["lon"].to_numpy(), "lat": at["lat"].to_numpy(),
    })
    for col in ("county_code", "town_code", "village_code", "grid_code", "assign_generation"):
        frame[col] = at[col].to_numpy()
    return frame
