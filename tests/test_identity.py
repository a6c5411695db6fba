"""Check digits of identity numbers and credit codes, and the vectorised generators."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from console.store.identity import id_sex, validate_credit_code, validate_id_number
from world import identity


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("11010519491231002X", None),
        ("110105194912310021", "校验位"),
        ("11010519491331002X", "出生日期无效"),
        ("1101051949123100", "18位"),
        ("110105203012310029", "超出范围"),
        ("abcdefghijklmnopqr", "18位"),
    ],
)
def test_validate_id_number(value, problem):
    result = validate_id_number(value, today=date(2026, 11, 1))
    assert (result is None) if problem is None else (problem in result)


def test_generated_ids_are_valid_unique_and_encode_sex_and_birth():
    rng = np.random.default_rng(3)
    n = 20_000
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 3, n).astype("timedelta64[D]")
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    prefix = identity.id_prefixes(np.full(n, "610981"), birth.astype("datetime64[Y]").astype(int) + 1970)
    ids = identity.id_numbers(prefix, birth, sex)
    assert len(set(ids)) == n
    assert all(validate_id_number(i, today=date(2026, 1, 1)) is None for i in ids[:2000])
    assert [id_sex(i) for i in ids[:500]] == list(sex[:500])
    assert ids[0][6:14] == str(birth[0]).replace("-", "")
    assert set(i[:6] for i in ids) == {"610928"}  # 旬阳 births before 2021 keep the old county code


def test_xunyang_births_after_2021_use_new_code():
    assert list(identity.id_prefixes(np.array(["610981", "610981", "610924"]), np.array([2020, 2021, 2022]))) == [
        "610928", "610981", "610924"]


def test_credit_codes_are_valid():
    rng = np.random.default_rng(1)
    codes = identity.credit_codes(rng, np.full(200, "610902"), rng.random(200) < 0.5)
    assert all(validate_credit_code(c) is None for c in codes)
    assert validate_credit_code(codes[0][:-1] + ("0" if codes[0][-1] != "0" else "1")) is not None


def test_camera_ids_are_20_digits():
    ids = identity.camera_device_ids(np.array(["610924"]), np.array(["132"]), np.array([42]))
    assert ids[0] == "61092400001320000042" and len(ids[0]) == 20
