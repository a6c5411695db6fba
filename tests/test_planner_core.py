"""Grid planner core on hand-made polygons: validity rules, edits, balance, proposal, codes, moves."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from geodata.partition import check_partition
from geodata.planner import balance, codes, draft, moves, propose, validity
from geodata.planner.draft import DraftGrid, EditError
from geodata.planner.rules import BANDS, Band, Rules, area_m2, m_to_deg

X0, Y0, S = 109.0, 32.7, 0.01          # a ~0.94 km x 1.1 km village near 紫阳
VCODE = "610924100201"
VILLAGE = box(X0, Y0, X0 + S, Y0 + S)
H = S / 2


def quad() -> draft.State:
    """Four grids, 2 x 2, numbered in reading order (NW, NE, SW, SE)."""
    cells = [box(X0, Y0 + H, X0 + H, Y0 + S), box(X0 + H, Y0 + H, X0 + S, Y0 + S),
             box(X0, Y0, X0 + H, Y0 + H), box(X0 + H, Y0, X0 + S, Y0 + H)]
    return tuple(DraftGrid(f"{VCODE}{i + 1:03d}", c) for i, c in enumerate(cells))


def kinds(problems) -> list[str]:
    return sorted(p.kind for p in problems)


# ------------------------------------------------------------------------------------------ validity
def test_a_clean_partition_has_no_problems():
    assert validity.validate(VILLAGE, quad(), VCODE) == []


@pytest.mark.parametrize("name, change, expected", [
    ("overlap", lambda s: (s[0].__class__(s[0].code, box(X0, Y0 + H * 0.8, X0 + H, Y0 + S)), *s[1:]), ["overlap"]),
    ("gap", lambda s: (s[0].__class__(s[0].code, box(X0, Y0 + H * 1.2, X0 + H, Y0 + S)), *s[1:]), ["gap"]),
    ("outside", lambda s: (s[0].__class__(s[0].code, box(X0 - H, Y0 + H, X0 + H, Y0 + S)), *s[1:]), ["outside"]),
    ("bow-tie", lambda s: (s[0].__class__(s[0].code, Polygon([(X0, Y0 + H), (X0 + H, Y0 + S), (X0 + H, Y0 + H),
                                                              (X0, Y0 + S)])), *s[1:]), ["gap", "invalid"]),
    ("codes collide", lambda s: (s[0], s[1].__class__(s[0].code, s[1].geometry), *s[2:]), ["codes"]),
    ("foreign code", lambda s: (s[0].__class__("610924100202001", s[0].geometry), *s[1:]), ["codes"]),
])
def test_each_rule_fires_on_its_own(name, change, expected):
    assert kinds(validity.validate(VILLAGE, change(quad()), VCODE)) == expected, name


def test_multipart_grid_is_reported():
    s = quad()
    two = MultiPolygon([s[0].geometry, s[3].geometry])
    state = (DraftGrid(s[0].code, two), s[1], s[2])
    found = validity.validate(VILLAGE, state, VCODE)
    assert kinds(found) == ["multipart"]
    assert found[0].grids == (0,)


def test_sliver_threshold_is_configurable():
    s = quad()
    thin = box(X0 + H - m_to_deg(3), Y0, X0 + H, Y0 + H)          # 3 m wide strip, ~1,650 m²
    rest = shapely.difference(s[2].geometry, thin)
    state = (*s[:2], DraftGrid(s[2].code, rest), s[3], DraftGrid(None, thin))
    assert kinds(validity.validate(VILLAGE, state, VCODE)) == ["sliver"]
    assert validity.validate(VILLAGE, state, VCODE, Rules(sliver_m2=1000)) == []


def test_problems_carry_area_and_geometry_for_the_map():
    s = quad()
    state = (DraftGrid(s[0].code, box(X0, Y0 + H * 1.5, X0 + H, Y0 + S)), *s[1:])
    (gap,) = validity.validate(VILLAGE, state, VCODE)
    assert gap.geometry.equals(box(X0, Y0 + H, X0 + H, Y0 + H * 1.5))
    assert gap.area_m2 == pytest.approx(area_m2(gap.geometry))


# ------------------------------------------------------------------------------------------ edits
def assert_partition(state):
    assert check_partition(VILLAGE, [g.geometry for g in state], check_edges=False) == []
    assert validity.errors(validity.validate(VILLAGE, state, VCODE)) == []


def test_redraw_moves_the_shared_border_for_both_grids():
    s = quad()
    bigger = box(X0, Y0 + H * 0.6, X0 + H, Y0 + S)                # NW grid reaches down into SW
    out = draft.redraw(s, VILLAGE, 0, bigger)
    assert_partition(out)
    assert out[0].geometry.equals(bigger) and out[0].code == s[0].code
    assert out[2].geometry.equals(box(X0, Y0, X0 + H, Y0 + H * 0.6))


def test_redraw_gives_released_area_to_the_longest_neighbour():
    s = quad()
    smaller = box(X0, Y0 + H * 1.5, X0 + H, Y0 + S)
    out = draft.redraw(s, VILLAGE, 0, smaller)
    assert_partition(out)
    assert out[2].geometry.equals(box(X0, Y0, X0 + H, Y0 + H * 1.5))  # SW shares the longest border


def test_hand_drawn_edge_snaps_to_the_neighbour_instead_of_leaving_a_sliver():
    s = quad()
    wobble = m_to_deg(2)                                           # 2 m short of the border, within snap
    drawn = box(X0, Y0 + H, X0 + H - wobble, Y0 + S)
    out = draft.redraw(s, VILLAGE, 0, drawn)
    assert_partition(out)
    assert out[0].geometry.equals(s[0].geometry)


def test_redraw_is_clipped_to_the_village():
    s = quad()
    out = draft.redraw(s, VILLAGE, 0, box(X0 - 0.01, Y0 + H, X0 + H, Y0 + S + 0.01))
    assert_partition(out)


@pytest.mark.parametrize("bad, message", [
    (Polygon([(X0, Y0), (X0 + H, Y0 + H), (X0 + H, Y0), (X0, Y0 + H)]), "自相交"),
    (Polygon(box(X0, Y0, X0 + H, Y0 + H).exterior.coords, [box(X0 + .001, Y0 + .001, X0 + .002, Y0 + .002).exterior.coords]), "内洞"),
    (box(X0 + 1, Y0 + 1, X0 + 1.01, Y0 + 1.01), "不在本村"),
    (LineString([(X0, Y0), (X0 + H, Y0 + H)]), "多边形"),
])
def test_bad_drawn_polygons_are_refused_with_a_reason(bad, message):
    with pytest.raises(EditError, match=message):
        draft.create(quad(), VILLAGE, bad)


def test_create_takes_area_from_the_grids_it_covers():
    s = quad()
    middle = box(X0 + H * 0.5, Y0 + H * 0.5, X0 + H * 1.5, Y0 + H * 1.5)
    out = draft.create(s, VILLAGE, middle)
    assert len(out) == 5 and out[-1].code is None
    assert_partition(out)


def test_delete_gives_the_area_to_a_neighbour_and_refuses_the_last_grid():
    s = quad()
    out = draft.delete(s, 0)
    assert len(out) == 3
    assert_partition(out)
    chosen = draft.delete(s, 0, to=1)
    assert chosen[0].geometry.equals(box(X0, Y0 + H, X0 + S, Y0 + S))
    with pytest.raises(EditError, match="不相邻"):
        draft.delete(s, 0, to=3)
    with pytest.raises(EditError, match="最后一个"):
        draft.delete((DraftGrid(None, VILLAGE),), 0)


def test_merge_keeps_the_larger_code_and_refuses_non_neighbours():
    s = quad()
    out = draft.merge(s, 0, 1)
    assert len(out) == 3 and out[0].code == s[0].code
    assert_partition(out)
    with pytest.raises(EditError, match="不相邻"):
        draft.merge(s, 0, 3)


def test_split_along_a_line_cuts_each_crossed_grid():
    s = quad()
    line = LineString([(X0 - 0.001, Y0 + H * 1.5), (X0 + S + 0.001, Y0 + H * 1.5)])  # across NW and NE
    out = draft.split(s, VILLAGE, line)
    assert len(out) == 6
    assert [g.code for g in out].count(None) == 2
    assert_partition(out)


def test_split_line_stopping_short_of_the_border_is_extended():
    s = quad()
    short = m_to_deg(3)
    line = LineString([(X0 + short, Y0 + H * 1.5), (X0 + H - short, Y0 + H * 1.5)])
    out = draft.split(s, VILLAGE, line)
    assert len(out) == 5
    assert_partition(out)


def test_split_that_crosses_nothing_is_refused():
    with pytest.raises(EditError, match="没有完整穿过"):
        draft.split(quad(), VILLAGE, LineString([(X0 + .001, Y0 + .001), (X0 + .002, Y0 + .002)]))


def test_state_json_round_trip():
    s = draft.create(quad(), VILLAGE, box(X0 + H * 0.5, Y0 + H * 0.5, X0 + H * 1.5, Y0 + H * 1.5))
    back = draft.state_from_json(draft.state_to_json(s))
    assert [g.code for g in back] == [g.code for g in s]
    assert all(a.geometry.equals_exact(b.geometry, 0) for a, b in zip(s, back))


# ------------------------------------------------------------------------------------------ balance
def households(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    return X0 + rng.random(n) * S, Y0 + rng.random(n) * S, rng.integers(1, 6, n)


def test_tally_counts_households_and_residents_and_flags_the_band():
    lon, lat, res = households(1600)
    b = balance.tally(quad(), lon, lat, res, BANDS["community"])
    assert sum(t.households for t in b.tallies) == 1600
    assert sum(t.residents for t in b.tallies) == int(res.sum())
    expected = [int(shapely.contains_xy(g.geometry, lon, lat).sum()) for g in quad()]
    assert [t.households for t in b.tallies] == expected
    assert [t.status for t in b.tallies] == ["ok" if 300 <= c <= 500 else "low" if c < 300 else "high"
                                             for c in expected]
    assert {t.status for t in b.tallies} == {"ok"}           # ~400 each
    assert len(b.unassigned) == 0


def test_tally_reports_unassigned_households_in_a_gap():
    lon, lat, res = households(400)
    s = quad()
    state = (DraftGrid(s[0].code, box(X0, Y0 + H * 1.5, X0 + H, Y0 + S)), *s[1:])
    b = balance.tally(state, lon, lat, res, Band(50, 200, 100))
    in_gap = shapely.contains_xy(box(X0, Y0 + H, X0 + H, Y0 + H * 1.5), lon, lat)
    assert set(b.unassigned) == set(np.nonzero(in_gap)[0])


@pytest.mark.parametrize("count, status", [(0, "empty"), (150, "low"), (400, "ok"), (600, "high")])
def test_status_against_the_band(count, status):
    lon, lat, res = households(count, seed=count)
    one = (DraftGrid(f"{VCODE}001", VILLAGE),)
    assert balance.tally(one, lon, lat, np.ones(count, int), BANDS["community"]).tallies[0].status == status


# ------------------------------------------------------------------------------------------ proposal
@pytest.mark.parametrize("village", [VILLAGE, Polygon([(X0, Y0), (X0 + S, Y0), (X0 + S, Y0 + S), (X0 + H, Y0 + H),
                                                       (X0, Y0 + S)])])   # convex and concave
def test_proposal_partitions_the_village_into_contiguous_grids_in_the_band(village):
    rng = np.random.default_rng(3)
    pts = np.column_stack([X0 + rng.random(6000) * S, Y0 + rng.random(6000) * S])
    pts = pts[shapely.contains_xy(village, pts[:, 0], pts[:, 1])][:3000]
    band = BANDS["community"]
    state, k = propose.propose(village, pts[:, 0], pts[:, 1], band)
    assert len(state) == k and k in propose.candidate_counts(3000, band)
    assert check_partition(village, [g.geometry for g in state]) == []
    assert all(g.geometry.geom_type == "Polygon" for g in state)
    counts = [t.households for t in balance.tally(state, pts[:, 0], pts[:, 1], np.ones(3000), band).tallies]
    assert sum(counts) == 3000 and all(band.low <= c <= band.high for c in counts), counts


def test_proposal_inherits_codes_of_grids_it_mostly_covers():
    lon, lat, _ = households(1200)
    state, k = propose.propose(VILLAGE, lon, lat, BANDS["community"], k=4, current=quad())
    assert sorted(g.code for g in state if g.code) == sorted(g.code for g in quad())


def test_proposal_rejects_a_silly_count():
    lon, lat, _ = households(10)
    with pytest.raises(EditError):
        propose.propose(VILLAGE, lon, lat, BANDS["village"], k=0)


# ------------------------------------------------------------------------------------------ codes and moves
def test_new_codes_follow_reading_order_after_the_highest_serial_ever_used():
    s = draft.split(quad(), VILLAGE, LineString([(X0 - .001, Y0 + H * 1.5), (X0 + S + .001, Y0 + H * 1.5)]))
    coded = codes.assign_codes(VCODE, s, used_serials=["001", "002", "003", "004", "009"])
    new = [g for g in coded if g.code not in {x.code for x in quad()}]
    assert sorted(g.code for g in new) == [f"{VCODE}010", f"{VCODE}011"]
    west = min(new, key=lambda g: g.geometry.centroid.x)
    assert west.code == f"{VCODE}010"


def test_moves_list_who_changes_grid_and_who_gains():
    s = quad()
    merged = codes.assign_codes(VCODE, draft.merge(s, 0, 1), ["001", "002", "003", "004"])
    lon, lat, _ = households(800)
    old = moves.new_grid_codes(s, lon, lat)
    rec = {"household": moves.Records(np.arange(800), lon, lat, old)}
    moved = moves.record_moves(merged, rec)
    in_ne = old == f"{VCODE}002"
    assert set(moved["household"].ids) == set(np.nonzero(in_ne)[0])
    pairs = moves.pair_table(moved)
    assert pairs == [{"from": f"{VCODE}002", "to": f"{VCODE}001", "household": int(in_ne.sum())}]
    workers = moves.worker_changes(pairs, {f"{VCODE}001": ["张三"]})
    assert workers[0]["workers"] == "张三" and workers[0]["gain"] == int(in_ne.sum())
    assert workers[1]["workers"] == "（未配备网格员）" and workers[1]["loss"] == int(in_ne.sum())
    assert moves.successor_grid(pairs, f"{VCODE}002") == f"{VCODE}001"
