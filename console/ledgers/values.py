"""Cell values of a ledger: the common Chinese date forms and Excel serial dates, refusing the ambiguous ones.

Pure functions; each returns (value, None) or (None, a Chinese reason). Accepted: 2025-11-03, 2025/11/3, 2025.11.03,
2025年11月3日, 20251103, each optionally followed by a time (14:30, 14:30:00, 14时30分), date cells and Excel serial
numbers (1955–2119). Refused as ambiguous: a year not in front (03/11/2025: day or month first?), a two-digit year
(25-11-03), a date without a year (11月3日)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from datetime import date, datetime, time, timedelta

_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01, after Excel's 1900 leap-year bug
SERIAL_MIN, SERIAL_MAX = 20000, 80000  # 1954-10-03 .. 2119-01-10: beyond this a number is no date
EXAMPLE = "如 2025-11-03 或 2025年11月3日"

_TIME = r"(?:[ T]*(?P<h>\d{1,2})(?:[:：时](?P<mi>\d{1,2})(?:[:：分](?P<s>\d{1,2}(?:\.\d+)?))?)?[分秒]?)?"
_YMD = re.compile(r"^(?P<y>\d{4})\s*(?P<sep>[-/.年])\s*(?P<m>\d{1,2})\s*(?P=sep)?\s*(?:月\s*)?(?P<d>\d{1,2})\s*[日号]?"
                  + _TIME + r"$")
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})" + _TIME + r"$")
_YEAR_LAST = re.compile(r"^\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{2,4}\b")
_SHORT_YEAR = re.compile(r"^\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
_NO_YEAR = re.compile(r"^\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?$")
_NO_DAY = re.compile(r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*月?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


def _serial(number: float) -> tuple[datetime | None, str | None]:
    if not SERIAL_MIN <= number <= SERIAL_MAX:
        return None, f"数字{number:g}不是日期（{EXAMPLE}）"
    return (_EXCEL_EPOCH + timedelta(days=float(number))).replace(microsecond=0), None


def parse_datetime(value) -> tuple[datetime | None, str | None]:
    """A date and time from a cell; (None, None) for an empty cell."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, datetime):
        return value.replace(microsecond=0), None
    if isinstance(value, date):
        return datetime.combine(value, time()), None
    if isinstance(value, bool):
        return None, f"“{value}”不是日期（{EXAMPLE}）"
    if isinstance(value, (int, float)):
        if isinstance(value, int) or float(value).is_integer():
            text = str(int(value))
            if len(text) == 8:
                return parse_datetime(text)  # 20251103
        return _serial(float(value))
    return _parse_text(str(value))


_ISO = re.compile(r"\d{4}-\d\d-\d\d(?: \d\d:\d\d(?::\d\d)?)?", re.ASCII)


@lru_cache(maxsize=4096)  # a ledger's dates repeat (one 发生日期 for many rows)
def _parse_text(value: str) -> tuple[datetime | None, str | None]:
    if _ISO.fullmatch(value):  # the common export form, parsed in C; anything it refuses takes the long way
        try:
            return datetime.fromisoformat(value), None
        except ValueError:
            pass
    text = unicodedata.normalize("NFKC", value).strip()
    m = _YMD.match(text) or _COMPACT.match(text)
    if m:
        try:
            sec = float(m["s"] or 0)
            return datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["h"] or 0), int(m["mi"] or 0),
                            int(sec)), None
        except ValueError:
            return None, f"“{text}”不是有效的日期"
    if _YEAR_LAST.match(text):
        return None, f"“{text}”日、月顺序不明确，请把年份写在前面（{EXAMPLE}）"
    if _SHORT_YEAR.match(text):
        return None, f"“{text}”年份只有两位，无法确定世纪（请写四位年份，{EXAMPLE}）"
    if _NO_YEAR.match(text):
        return None, f"“{text}”缺少年份（{EXAMPLE}）"
    if _NO_DAY.match(text):
        return None, f"“{text}”缺少日（{EXAMPLE}）"
    if _NUMBER.match(text):
        return _serial(float(text))
    return None, f"“{text}”不是可识别的日期（{EXAMPLE}）"


def parse_date(value) -> tuple[date | None, str | None]:
    when, reason = parse_datetime(value)
    return (when.date() if when else None), reason


def text(value) -> str:
    """A cell as text: numbers without a spurious '.0' (Excel stores 12 as 12.0), dates as ISO."""
    if value is None:
        return ""
    if type(value) is str:  # most cells: no isinstance chain
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds").removesuffix(" 00:00:00")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
