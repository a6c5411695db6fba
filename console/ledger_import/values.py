"""Cell values → stored values: code-table labels, yes/no, integers, identity and credit codes, coordinates.
Each function returns (value, problem): problem is a short Chinese reason, None when the value is fine."""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

from console.ledgers.values import parse_date
from console.ledgers.values import text as cell_text
from console.store.identity import validate_credit_code, validate_id_number

__all__ = ["code", "yes_no", "integer", "id_number", "credit_code", "coordinate", "plain", "parse_date",
           "key_text"]

YES = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "无", "n", "no", "false", "0", "×", ""}
# Ankang lies within these bounds (with a margin): a coordinate outside is a wrong column or a projected CRS.
LON_RANGE, LAT_RANGE = (108.0, 110.2), (31.4, 33.6)


@lru_cache(maxsize=1 << 16, typed=True)  # a column's values repeat (codes, places): each is normalised once
def _norm_cached(value) -> str:
    return unicodedata.normalize("NFKC", cell_text(value)).strip()


def _norm(value) -> str:
    if type(value) is str:  # NFKC returns a normalised string at once (its quick check): no cache needed
        return unicodedata.normalize("NFKC", value.strip()).strip()
    try:
        return _norm_cached(value)
    except TypeError:  # not hashable
        return unicodedata.normalize("NFKC", cell_text(value)).strip()


_LABELS: dict[int, tuple[dict, int, dict[str, str]]] = {}


def _labels(table: dict[str, str]) -> dict[str, str]:
    """label → key of a code table, built once per table (the last key of a label wins, as a dict built per call)."""
    cached = _LABELS.get(id(table))
    if cached is None or cached[0] is not table or cached[1] != len(table):
        # a cell is read NFKC-normalised: the label's normal form too (学校（校园周边） is read as 学校(校园周边))
        labels = {unicodedata.normalize("NFKC", label): key for key, label in table.items()}
        cached = _LABELS[id(table)] = (table, len(table), {**labels, **{label: key for key, label in table.items()}})
    return cached[2]


def plain(value, max_len: int, label: str):
    text = _norm(value)
    if len(text) > max_len:
        return None, f"{label}过长（最多{max_len}字）"
    return text, None


def record_code(value, label: str, max_len: int = 32):
    """A record's own code (场所编号, 线路编号): required, 1–max_len characters."""
    text = cell_text(value).strip()
    if not text or len(text) > max_len:
        return None, f"{label}应为1–{max_len}个字符，不是“{text}”"
    return text, None


def code(value, table: dict[str, str], label: str, aliases: dict[str, str] | None = None):
    """A code-table value given as its label (男, 枪机), its key (M, bullet) or a known alias."""
    text = _norm(value)
    if text in table:
        return text, None
    by_label = _labels(table)
    if text in by_label:
        return by_label[text], None
    if aliases and text in aliases:
        return aliases[text], None
    return None, f"{label}“{text}”不在代码表中（可选：{'、'.join(table.values())}）"


def yes_no(value, label: str):
    text = _norm(value).lower()
    if text in YES:
        return True, None
    if text in NO:
        return False, None
    return None, f"{label}应为“是”或“否”，不是“{text}”"


def integer(value, label: str, lo: int = 0, hi: int = 10**7):
    if isinstance(value, bool):
        return None, f"{label}应为整数"
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = _norm(value).replace(",", "")
        if not re.fullmatch(r"-?\d+(\.0+)?", text):
            return None, f"{label}应为整数，不是“{text}”"
        number = float(text)
    if not number.is_integer() or not lo <= number <= hi:
        return None, f"{label}应为{lo}–{hi}之间的整数"
    return int(number), None


def id_number(value):
    text = _norm(value).upper()
    if isinstance(value, float):  # Excel turned an 18-digit number into a float: digits are already lost
        return None, "身份证号被Excel存成了数字，末几位已丢失：请把该列设为“文本”后重新填写"
    problem = validate_id_number(text)
    return (text, None) if problem is None else (None, problem)


def key_text(value) -> str:
    """A code-like key as the checks read it (identity numbers, credit codes): NFKC, trimmed, upper case."""
    if type(value) is str and value.isascii():  # NFKC leaves ASCII as it is
        return value.strip().upper()
    return _norm(value).upper()


def credit_code(value):
    text = _norm(value).upper()
    problem = validate_credit_code(text)
    return (text, None) if problem is None else (None, problem)


def coordinate(lon_value, lat_value):
    """(lon, lat) in degrees, or (None, None) when both cells are empty."""
    if lon_value in (None, "") and lat_value in (None, ""):
        return (None, None), None
    try:
        lon, lat = float(_norm(lon_value)), float(_norm(lat_value))
    except ValueError:
        return (None, None), "经纬度应为数字（度）"
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return (None, None), "经纬度应为数字（度）"
    if LAT_RANGE[0] <= lon <= LAT_RANGE[1] and LON_RANGE[0] <= lat <= LON_RANGE[1]:
        return (None, None), "经度与纬度填反了"
    if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
        return (None, None), f"坐标 ({lon}, {lat}) 不在安康市范围内"
    return (lon, lat), None
