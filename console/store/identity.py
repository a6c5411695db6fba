"""Check digits of Chinese identifiers (pure functions, shared by forms, imports and the demo world).

- 公民身份号码 (GB 11643-1999): 17 digits + ISO 7064 MOD 11-2 check character (0–9 or X).
- 统一社会信用代码 (GB 32100-2015): 18 characters, MOD 31 check over a 31-symbol alphabet.
"""

from __future__ import annotations

import operator
import re
from datetime import date

import numpy as np

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


_ID_WEIGHTS_INT = tuple(int(w) for w in ID_WEIGHTS)  # plain ints: numpy scalars made this 10x slower per id


_ASCII_ZERO = 48 * sum(_ID_WEIGHTS_INT)


def id_check_char(first17: str) -> str:
    if first17.isascii():  # bytes are the digits' codes: no int() per digit (bulk checks of imports)
        total = sum(map(operator.mul, first17.encode(), _ID_WEIGHTS_INT)) - _ASCII_ZERO
    else:
        total = sum(map(operator.mul, map(int, first17), _ID_WEIGHTS_INT))
    return ID_CHECK[total % 11]


def id_check_chars(first17: np.ndarray) -> np.ndarray:
    """Vectorised: (n, 17) int array of digits → (n,) array of check characters."""
    return np.array(list(ID_CHECK))[(first17.astype(np.int64) @ ID_WEIGHTS) % 11]


def validate_id_number(value: str, *, today: date | None = None) -> str | None:
    """None when valid, else the reason in Chinese (for form and import errors)."""
    value = (value or "").strip().upper()
    if not _ID_RE.match(value):
        return "身份证号码应为18位（17位数字+校验位）"
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效"
    if born > (today or date.today()) or born.year < 1900:
        return "身份证号码中的出生日期超出范围"
    if id_check_char(value[:17]) != value[17]:
        return "身份证号码校验位错误"
    return None


def id_number_valid(value: str) -> bool:
    """The check character holds (18 characters, 17 digits, GB 11643 MOD 11-2): what 数据质量 asks of stored
    numbers. Birth dates are not judged here: a stored record may be older than the rules of today's forms."""
    value = (value or "").strip().upper()
    return bool(_ID_RE.match(value)) and id_check_char(value[:17]) == value[17]


_CHECK_CODES = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def valid_id_numbers(values, *, today: date | None = None) -> set[str]:
    """The values `validate_id_number` accepts as they are (already trimmed, upper case), checked at once with
    numpy: for bulk imports. Values outside the set (non-ASCII digits among them) still need the one-by-one check."""
    today = today or date.today()
    cands = [v for v in set(values) if isinstance(v, str) and len(v) == 18 and v.isascii()]
    if not cands:
        return set()
    raw = np.frombuffer("".join(cands).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    d = raw.astype(np.int64) - 48
    ok = ((d[:, :17] >= 0) & (d[:, :17] <= 9)).all(axis=1) & (((d[:, 17] >= 0) & (d[:, 17] <= 9)) | (raw[:, 17] == 88))
    d17 = np.where(ok[:, None], d[:, :17], 0)
    year = d17[:, 6] * 1000 + d17[:, 7] * 100 + d17[:, 8] * 10 + d17[:, 9]
    month = d17[:, 10] * 10 + d17[:, 11]
    day = d17[:, 12] * 10 + d17[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= days) & (year >= 1900)
    ok &= year * 10000 + month * 100 + day <= today.year * 10000 + today.month * 100 + today.day
    ok &= _CHECK_CODES[(d17 @ ID_WEIGHTS) % 11] == raw[:, 17]
    return {c for c, good in zip(cands, ok.tolist()) if good}


def id_sex(value: str) -> str:
    """'M' or 'F' from the 17th digit (odd = male)."""
    return "M" if int(value[16]) % 2 else "F"


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str | None:
    value = (value or "").strip().upper()
    if len(value) != 18 or any(c not in CREDIT_ALPHABET for c in value):
        return "统一社会信用代码应为18位（数字或大写字母，不含I、O、Z、S、V）"
    if credit_check_char(value[:17]) != value[17]:
        return "统一社会信用代码校验位错误"
    return None
