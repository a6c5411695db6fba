"""Case codes: JF + county code (6) + date (YYYYMMDD) + serial (4) — one case, one code."""

from __future__ import annotations

import re
from datetime import date

PREFIX = "JF"
CODE_RE = re.compile(r"^JF(\d{6})(\d{8})(\d{4})$")


def make_code(county_code: str, day: date, serial: int) -> str:
    if not (len(county_code) == 6 and county_code.isdigit()):
        raise ValueError(f"县区代码应为6位数字：{county_code}")
    if not 1 <= serial <= 9999:
        raise ValueError("当日流水号超出范围（1–9999）")
    return f"{PREFIX}{county_code}{day:%Y%m%d}{serial:04d}"


def parse_code(code: str) -> tuple[str, date, int] | None:
    m = CODE_RE.match(code or "")
    if not m:
        return None
    try:
        day = date(int(m[2][:4]), int(m[2][4:6]), int(m[2][6:]))
    except ValueError:
        return None
    return m[1], day, int(m[3])


def next_code(existing: list[str] | set[str], county_code: str, day: date) -> str:
    """The next free code for the county and day, given the codes already used that day."""
    prefix = f"{PREFIX}{county_code}{day:%Y%m%d}"
    used = [int(c[-4:]) for c in existing if c.startswith(prefix) and c[-4:].isdigit()]
    return make_code(county_code, day, max(used, default=0) + 1)
