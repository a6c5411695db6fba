"""Command-hall arithmetic without a browser or a database: ranking, 环比/同比, the replay window and the grid
generation in force, the kiosk's rotation, the search box's reading of what was typed."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.services import hall, hall_stats, replay, search


def test_rank_shares_places_on_ties_and_is_stable():
    rows = [("610902", "汉滨区", 5, {}), ("610924", "紫阳县", 9, {}), ("610925", "岚皋县", 5, {}),
            ("610921", "汉阴县", 1, {})]
    out = hall_stats.rank(rows)
    assert [(r.rank, r.code) for r in out] == [(1, "610924"), (2, "610902"), (2, "610925"), (4, "610921")]


@given(st.lists(st.tuples(st.text("0123456789", min_size=6, max_size=6), st.integers(0, 50)), max_size=15,
                unique_by=lambda t: t[0]))
def test_rank_properties(pairs):
    out = hall_stats.rank([(c, c, v, {}) for c, v in pairs])
    assert [r.value for r in out] == sorted((v for _, v in pairs), reverse=True)
    for i, r in enumerate(out):
        assert r.rank == 1 + sum(1 for _, v in pairs if v > r.value)  # places = how many are strictly ahead
        assert r.rank <= i + 1


def test_month_on_month_and_year_on_year():
    monthly = {(2026, 10): 40, (2026, 9): 50, (2025, 10): 20}
    c = hall_stats.compare(monthly, (2026, 10))
    assert (c.current, c.previous_month, c.previous_year) == (40, 50, 20)
    assert c.mom == pytest.approx(-0.2) and c.yoy == pytest.approx(1.0)
    jan = hall_stats.compare({(2026, 1): 3, (2025, 12): 3}, (2026, 1))
    assert jan.previous_month == 3 and jan.mom == 0 and jan.yoy is None  # January looks back to last December
    assert hall_stats.percent_text(jan.mom) == "持平" and hall_stats.percent_text(None) == "—"
    assert hall_stats.percent_text(-0.2) == "-20.0%" and hall_stats.percent_text(1.0) == "+100.0%"


def test_the_compared_month_is_the_last_complete_one():
    assert hall_stats.last_complete_month(datetime(2026, 12, 6, 9)) == (2026, 11)
    assert hall_stats.last_complete_month(datetime(2027, 1, 1, 0, 5)) == (2026, 12)


def test_replay_window_in_beijing_days_clamped():
    w = replay.window(date(2026, 11, 20), date(2026, 11, 21), 0, step_hours=1)
    assert w.steps == 48
    assert w.start == datetime(2026, 11, 19, 16) and w.end == datetime(2026, 11, 19, 17)  # 00:00 北京时间 = 16:00 UTC
    last = replay.window(date(2026, 11, 20), date(2026, 11, 21), 10_000, step_hours=3)
    assert last.position == 15 and last.end == datetime(2026, 11, 21, 16)  # a forged position cannot widen it
    cum = replay.window(date(2026, 11, 20), date(2026, 11, 20), 5, step_hours=2, cumulative=True)
    assert cum.start == datetime(2026, 11, 19, 16) and cum.end == datetime(2026, 11, 20, 4)
    assert replay.window(date(2026, 11, 20), date(2026, 11, 20), -3).position == 0
    with pytest.raises(replay.ReplayError):
        replay.window(date(2026, 11, 20), date(2026, 11, 20), 0, step_hours=5)


def test_replay_range_parsing_refuses_bad_input_in_chinese():
    assert replay.parse_range("2026-11-20", None) == (date(2026, 11, 20), date(2026, 11, 20))
    for a, b in [("2026-11-21", "2026-11-20"), ("昨天", "2026-11-20"), ("2026-01-01", "2026-12-31")]:
        with pytest.raises(replay.ReplayError) as e:
            replay.parse_range(a, b)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e.value))


def test_generation_in_force():
    gens = [(1, datetime(2026, 1, 1)), (2, datetime(2026, 6, 1)), (3, datetime(2026, 9, 1, 12))]
    assert replay.generation_at(gens, datetime(2025, 5, 1)) == 1  # before the first drawing: the first stands
    assert replay.generation_at(gens, datetime(2026, 6, 1)) == 2  # in force from its creation on
    assert replay.generation_at(gens, datetime(2026, 9, 1, 11, 59)) == 2
    assert replay.generation_at(reversed(gens), datetime(2027, 1, 1)) == 3
    assert replay.generation_at([], datetime(2027, 1, 1)) is None
    # numbered in commit order: a clock set back at a commit does not make an older generation win
    assert replay.generation_at([(1, datetime(2026, 6, 2)), (2, datetime(2026, 6, 1))], datetime(2026, 6, 3)) == 2


def test_cells_count_points_never_place_them():
    out = replay.cells([(108.5011, 32.5012), (108.5013, 32.5019), (108.51, 32.51), (None, 1)], cell=0.005)
    assert [n for *_, n in out] == [2, 1]
    lon, lat, _ = out[0]
    assert (lon, lat) == (108.5025, 32.5025)  # the cell's centre, not a record's position


def test_kiosk_rotation_and_interval():
    assert [hall.next_panel(p) for p in hall.PANELS] == [*hall.PANELS[1:], hall.PANELS[0]]
    assert hall.next_panel("bogus") == hall.PANELS[0]
    assert hall.interval_seconds("30") == 30 and hall.interval_seconds("1") == hall.MIN_INTERVAL
    assert hall.interval_seconds("abc") == hall.DEFAULT_INTERVAL and hall.interval_seconds(None) == 20
    assert hall.since_text(59) == "59 秒" and hall.since_text(3 * 3600 + 120) == "3 小时 2 分"
    assert hall.since_text(None) == "—"


def test_search_reads_what_was_typed():
    assert search.classify("JF610902202511070001") == "case"
    assert search.classify("61090200001310000006") == "camera"
    assert search.classify("61092419800101001X") == "id_number"
    assert search.classify("城关镇新华路12号") == "address"
    assert search.classify("紫阳县") == "name"
    for bad in ["", "a", "x" * 41, "张%"]:
        with pytest.raises(search.SearchError):
            search.clean(bad)
