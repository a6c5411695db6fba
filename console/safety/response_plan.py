"""The response plan (应急预案): the four levels Ⅰ–Ⅳ级 and what each assembles. The one home of these rules;
docs/safety.md "Response levels" describes them. Pure.

A level sets how far the console looks around the incident (key places, grid workers), how many cameras it
puts on the wall, and who leads. `suggest` proposes a level from the alert's severity and the people involved;
the duty officer decides and may choose another level of the plan, never one outside it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    key: str
    label: str  # Ⅰ级（特别重大）
    radius_m: int  # key places and grid workers within this distance
    cameras: int  # windows on the wall (1 / 4 / 9 / 16)
    lead: str  # 牵头处置
    report_minutes: int  # first report to the next level up within


LEVELS: dict[str, Level] = {lv.key: lv for lv in (
    Level("I", "Ⅰ级（特别重大）", 3000, 16, "市综治中心", 30),
    Level("II", "Ⅱ级（重大）", 2000, 16, "县区综治中心", 60),
    Level("III", "Ⅲ级（较大）", 1000, 9, "镇办综治中心", 120),
    Level("IV", "Ⅳ级（一般）", 500, 4, "村社区、网格", 240),
)}
ORDER = tuple(LEVELS)  # most serious first

# Alert severity → level (console/store/codes.py ALERT_SEVERITIES)
BY_SEVERITY = {"critical": "I", "high": "II", "medium": "III", "low": "IV", "info": "IV"}
# People involved (群体性事件): at least this many people → at least this level
BY_PEOPLE = ((300, "I"), (100, "II"), (30, "III"))


class LevelError(ValueError):
    """A level outside the plan (a forged form value); the message names it in Chinese."""


def level(key) -> Level:
    found = LEVELS.get(key) if isinstance(key, str) else None
    if found is None:
        raise LevelError(f"响应级别“{key}”不在应急预案中（可选：{'、'.join(lv.label for lv in LEVELS.values())}）")
    return found


def more_serious(a: str, b: str) -> str:
    return a if ORDER.index(a) <= ORDER.index(b) else b


def suggest(severity: str | None, people: int | None = None) -> str:
    """The plan's level for an alert: by its severity, raised by the number of people involved."""
    out = BY_SEVERITY.get(severity or "", "IV")
    for least, lv in BY_PEOPLE:
        if people is not None and people >= least:
            out = more_serious(out, lv)
            break
    return out
