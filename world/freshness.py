"""When each demo record was last written (`updated_at`), so 数据质量's 长期未更新 check has something to find.

Most records were checked within the last year and a half, some within three years, a few long before
(about 11 % beyond the default 24 months of docs/import.md). Drawn from a generator of its own, so adding the
column moved no other draw of the world."""

from __future__ import annotations

import numpy as np

from .fieldmonth import sqlite_time

# (share of records, oldest day, newest day) before `as_of`
BANDS = ((0.82, 0, 540), (0.13, 540, 900), (0.05, 900, 2600))


def last_updated(seed: int, salt: int, n: int, as_of64: np.datetime64) -> np.ndarray:
    rng = np.random.default_rng([seed, 7311, salt])
    band = rng.choice(len(BANDS), n, p=[b[0] for b in BANDS])
    lo = np.array([b[1] for b in BANDS])[band]
    hi = np.array([b[2] for b in BANDS])[band]
    seconds = ((lo + rng.random(n) * (hi - lo)) * 86400).astype("int64")
    return sqlite_time(as_of64.astype("datetime64[s]") - seconds.astype("timedelta64[s]"))
