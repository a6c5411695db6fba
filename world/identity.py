"""Vectorised synthetic identifiers: 身份证号码, phone numbers, credit codes, GB/T 28181 device ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

from console.store.identity import CREDIT_ALPHABET, CREDIT_WEIGHTS, id_check_chars

# Where floating residents come from: 40 % from outside the city (neighbouring prefectures), the rest from
# other Ankang counties (rural → urban moves dominate here). Codes are real GB/T 2260 county codes.
OUTSIDE_ORIGINS = {
    "610702": "陕西省汉中市汉台区", "610102": "陕西省西安市新城区", "611002": "陕西省商洛市商州区",
    "420302": "湖北省十堰市茅箭区", "420381": "湖北省丹江口市", "511702": "四川省达州市通川区",
    "500229": "重庆市城口县", "411302": "河南省南阳市宛城区", "620502": "甘肃省天水市秦州区",
}
XUNYANG_OLD = "610928"  # 旬阳县's code before it became 旬阳市 (610981) in 2021


def id_prefixes(county_code: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    """The region part of a locally registered person's number (旬阳 births before 2021 keep 610928)."""
    return np.where((county_code == "610981") & (birth_year < 2021), XUNYANG_OLD, county_code)


def id_numbers(prefix: np.ndarray, birth: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """Unique, checksum-valid 18-digit numbers. `birth` is datetime64[D]; the sequence digits are
    assigned by rank within (prefix, birth date, sex), so two people never share a number."""
    region = prefix.astype(np.int64)
    days = birth.astype("datetime64[D]").astype(np.int64)
    male = (sex == "M").astype(np.int64)
    key = (region * 100_000 + (days + 40_000)) * 2 + male
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.r_[0, np.flatnonzero(ks[1:] != ks[:-1]) + 1]
    rank_sorted = np.arange(len(ks)) - np.repeat(starts, np.diff(np.r_[starts, len(ks)]))
    rank = np.empty_like(rank_sorted)
    rank[order] = rank_sorted
    seq = 2 * rank + 2 - male  # 001, 003 … for men, 002, 004 … for women (GB 11643)
    if seq.max(initial=0) > 999:
        raise ValueError("too many people share a region and birth date for 3-digit sequence codes")
    ymd = birth.astype("datetime64[D]")
    years = ymd.astype("datetime64[Y]").astype(np.int64) + 1970
    months = ymd.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (ymd - ymd.astype("datetime64[M]")).astype(np.int64) + 1
    first17 = ((region * 10_000 + years) * 10_000 + months * 100 + dom) * 1_000 + seq
    digits = (first17[:, None] // (10 ** np.arange(16, -1, -1, dtype=np.int64))) % 10
    return np.char.add(first17.astype(str), id_check_chars(digits))


def iso_days(days: np.ndarray) -> np.ndarray:
    """datetime64 values as 'YYYY-MM-DD' strings (what the store's Date columns hold on SQLite)."""
    return np.asarray(days).astype("datetime64[D]").astype(str)


def phone_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    heads = np.array(["133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
                      "157", "158", "159", "173", "177", "180", "181", "183", "187", "189", "199"])
    tails = np.char.zfill(rng.integers(0, 100_000_000, n).astype(str), 8)
    return np.char.add(heads[rng.integers(0, len(heads), n)], tails)


def credit_codes(rng: np.random.Generator, county_code: np.ndarray, social: np.ndarray) -> np.ndarray:
    """统一社会信用代码: department (5 民政 / 9 工商) + kind + 6-digit region + 9-char org code + check."""
    n = len(county_code)
    head = np.where(social, "51", "91")
    alphabet = np.array(list(CREDIT_ALPHABET[:-5] + "ABCDE"))  # plausible org-code symbols
    body = rng.integers(0, len(alphabet), (n, 9))
    org = np.array(["".join(row) for row in alphabet[body]])
    first17 = np.char.add(np.char.add(head, county_code.astype(str)), org)
    values = np.vectorize(CREDIT_ALPHABET.index)(np.array([list(s) for s in first17]))
    check = (31 - (values @ np.array(CREDIT_WEIGHTS)) % 31) % 31
    return np.char.add(first17, np.array(list(CREDIT_ALPHABET))[check])


def camera_device_ids(county_code: np.ndarray, kind_code: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """GB/T 28181 20-digit ids: 8-digit centre (county + 00) + 2 industry + 3 type + 7 serial."""
    centre = np.char.add(county_code.astype(str), "00")
    return np.char.add(np.char.add(np.char.add(centre, "00"), kind_code.astype(str)),
                       np.char.zfill(serial.astype(str), 7))
