"""The bulk identity-number check accepts exactly what the one-by-one check accepts (forged and odd values too)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from console.store.identity import id_check_char, valid_id_numbers, validate_id_number

TODAY = date(2026, 11, 26)


def _make(region: str, born: str, seq: str) -> str:
    first = f"{region}{born}{seq}"
    return first + id_check_char(first)


def test_the_usual_mistakes_are_left_to_the_one_by_one_check():
    good = _make("610924", "19800101", "123")
    values = [good, good[:-1] + ("0" if good[-1] != "0" else "1"),  # wrong check character
              _make("610924", "19800230", "123"),  # 30 February
              _make("610924", "20000229", "123"), _make("610924", "19000229", "123"),  # leap and not
              _make("610924", "18991231", "123"), _make("610924", "20261127", "123"),  # too early, tomorrow
              _make("610924", "20261126", "123"), good.lower(), good[:17], "６" + good[1:], good + " "]
    accepted = valid_id_numbers(values, today=TODAY)
    assert accepted == {good, _make("610924", "20000229", "123"), _make("610924", "20261126", "123")}
    assert all(validate_id_number(v, today=TODAY) is None for v in accepted)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(
    st.builds(lambda head, tail: head + tail, st.text(alphabet="0123456789", min_size=17, max_size=17),
              st.sampled_from(list("0123456789X"))),
    st.builds(_make, st.just("610924"),
              st.dates(date(1890, 1, 1), date(2030, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
              st.text(alphabet="0123456789", min_size=3, max_size=3)),
    st.text(min_size=17, max_size=19)), max_size=20))
def test_bulk_and_one_by_one_agree(values):
    accepted = valid_id_numbers(values, today=TODAY)
    for v in values:
        one = validate_id_number(v, today=TODAY) is None and v == v.strip().upper()
        assert (v in accepted) == (one and v.isascii()), v
