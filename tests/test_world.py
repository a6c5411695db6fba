"""The demo world: partitions at every level, code formats, census figures, identities, determinism."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
import shapely
from sqlalchemy import func, select, text

from console.store import Area, Camera, Dispute, Grid, Household, Person, SpecialPerson
from console.store.identity import validate_credit_code, validate_id_number
from geodata.partition import check_partition

pytestmark = pytest.mark.xdist_group("small_world")


def _areas(engine, level):
    with engine.connect() as conn:
        rows = conn.execute(select(Area.code, Area.parent_code, Area.geom_wkb).where(Area.level == level)).all()
    return {r.code: (r.parent_code, shapely.from_wkb(r.geom_wkb)) for r in rows}


def _children(children):
    by_parent = {}
    for code, (parent, geom) in children.items():
        by_parent.setdefault(parent, []).append(geom)
    return by_parent


def test_level_counts_match_nbs(small_world_engine):
    with small_world_engine.connect() as conn:
        counts = dict(conn.execute(select(Area.level, func.count()).group_by(Area.level)).all())
    assert counts == {"city": 1, "county": 10, "town": 139, "village": 1924}


@pytest.mark.parametrize(("parent_level", "child_level"), [("city", "county"), ("county", "town"), ("town", "village")])
def test_children_partition_their_parent(small_world_engine, parent_level, child_level):
    parents = _areas(small_world_engine, parent_level)
    by_parent = _children(_areas(small_world_engine, child_level))
    assert set(by_parent) == set(parents)
    # The real county outlines (天地图) have a few multi-part counties; synthetic levels must be single parts.
    real = child_level == "county"
    problems = {code: [p for p in check_partition(geom, by_parent[code], tol_rel=1e-7)
                       if not (real and " parts" in p)]
                for code, (_, geom) in parents.items()}
    assert {c: p for c, p in problems.items() if p} == {}


def test_grids_partition_every_village(small_world_engine):
    villages = _areas(small_world_engine, "village")
    with small_world_engine.connect() as conn:
        rows = conn.execute(select(Grid.village_code, Grid.geom_wkb).where(Grid.generation_high.is_(None))).all()
    by_village = {}
    for village_code, wkb in rows:
        by_village.setdefault(village_code, []).append(shapely.from_wkb(wkb))
    assert set(by_village) == set(villages)
    bad = {c: p for c, (_, g) in villages.items() if (p := check_partition(g, by_village[c], tol_rel=1e-7))}
    assert bad == {}


def test_code_formats_are_prefix_hierarchical(small_world_engine):
    with small_world_engine.connect() as conn:
        areas = conn.execute(select(Area.code, Area.parent_code, Area.level)).all()
        grids = conn.execute(select(Grid.code, Grid.village_code)).all()
    length = {"city": 6, "county": 6, "town": 9, "village": 12}
    for code, parent, level in areas:
        assert re.fullmatch(r"\d+", code) and len(code) == length[level]
        if level in ("town", "village"):
            assert code.startswith(parent)
    for code, village in grids:
        assert re.fullmatch(r"\d{15}", code) and code[:12] == village


def test_grid_codes_run_north_to_south(small_world_engine):
    """Serial 001 is the grid whose label point is furthest north in the village's first row."""
    with small_world_engine.connect() as conn:
        rows = conn.execute(select(Grid.code, Grid.village_code, Grid.label_lat)).all()
    by_village = {}
    for code, village, lat in rows:
        by_village.setdefault(village, []).append((code, lat))
    multi = [sorted(v) for v in by_village.values() if len(v) >= 4]
    assert multi, "expected villages with several grids"
    for grids in multi:
        first_lat, last_lat = grids[0][1], grids[-1][1]
        assert first_lat >= last_lat


def test_population_matches_census(small_world_engine):
    with small_world_engine.connect() as conn:
        pop = dict(conn.execute(select(Area.code, Area.population)).all())
        source = dict(conn.execute(select(Area.code, Area.population_source)).all())
    assert pop["610900"] == 2_493_436
    assert pop["610981"] == 357_876 and source["610981"] == "census"
    assert pop["610924100"] == 53_654  # 紫阳县城关镇, 7th census
    counties = [c for c in pop if len(c) == 6 and c != "610900"]
    assert sum(pop[c] for c in counties) == 2_493_436
    for c in counties:
        towns = [t for t in pop if len(t) == 9 and t.startswith(c)]
        assert sum(pop[t] for t in towns) == pop[c]


def test_residents_match_planned_population_at_scale(small_world_engine):
    with small_world_engine.connect() as conn:
        persons = conn.execute(select(func.count()).select_from(Person)).scalar()
        meta_scale = float(conn.execute(text("SELECT value FROM world_meta WHERE key='scale'")).scalar())
    assert abs(persons - 2_493_436 * meta_scale) / (2_493_436 * meta_scale) < 0.1


def test_people_live_in_valleys_not_on_ridges(small_world_engine):
    """Households are much closer to rivers than uniformly random points in the city."""
    from geodata import realdata

    with small_world_engine.connect() as conn:
        pts = np.array(conn.execute(select(Household.lon, Household.lat).limit(5000)).all())
    rng = np.random.default_rng(0)
    city = realdata.city().geometry
    minx, miny, maxx, maxy = city.bounds
    rand = np.column_stack([rng.uniform(minx, maxx, 20000), rng.uniform(miny, maxy, 20000)])
    rand = rand[shapely.contains_xy(city, rand[:, 0], rand[:, 1])][:5000]
    rivers = realdata.rivers()
    d_people = np.median(shapely.distance(rivers, shapely.points(pts)))
    d_random = np.median(shapely.distance(rivers, shapely.points(rand)))
    assert d_people < 0.6 * d_random


def test_identity_numbers_valid_unique_with_county_prefix(small_world_engine):
    with small_world_engine.connect() as conn:
        rows = conn.execute(select(Person.id_number, Person.county_code, Person.residence_type, Person.sex)).all()
    local = [r for r in rows if r.residence_type == "registered"]
    assert len({r.id_number for r in rows}) == len(rows)
    assert all(validate_id_number(r.id_number, today=date(2026, 11, 1)) is None for r in local)
    assert all(r.id_number[:6] == r.county_code or (r.county_code == "610981" and r.id_number[:6] == "610928") for r in local)
    assert all((int(r.id_number[16]) % 2 == 1) == (r.sex == "M") for r in local)


def test_records_carry_consistent_codes_and_generation(small_world_engine):
    for model in (Person, Household, SpecialPerson, Camera, Dispute):
        with small_world_engine.connect() as conn:
            bad = conn.execute(
                select(func.count()).select_from(model).where(
                    (func.substr(model.grid_code, 1, 12) != model.village_code)
                    | (func.substr(model.village_code, 1, 9) != model.town_code)
                    | (func.substr(model.town_code, 1, 6) != model.county_code)
                    | model.grid_code.is_(None) | (model.assign_generation != 1))).scalar()
        assert bad == 0, model.__name__


def test_every_category_is_present(small_world_engine):
    with small_world_engine.connect() as conn:
        special = set(conn.execute(select(SpecialPerson.category).distinct()).scalars())
        disputes = set(conn.execute(select(Dispute.category).distinct()).scalars())
        levels = set(conn.execute(select(SpecialPerson.risk_level).where(SpecialPerson.category == "mental").distinct()).scalars())
        credit = conn.execute(text("SELECT credit_code FROM organisation LIMIT 200")).scalars().all()
    assert special == {"released", "correction", "drug", "mental", "aids"}
    assert len(disputes) >= 12
    assert levels >= {0, 1, 2, 3}
    assert all(validate_credit_code(c) is None for c in credit)


def test_dispute_histories_are_ordered_and_end_in_the_case_state(small_world_engine):
    with small_world_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT d.id, d.state, e.to_state, e.from_state, e.seq, e.at FROM dispute d "
            "JOIN dispute_event e ON e.dispute_id = d.id ORDER BY d.id, e.seq")).all()
    assert rows
    final, previous = {}, {}
    for case, state, to_state, from_state, seq, at in rows:
        if seq == 0:
            assert to_state == "registered" and from_state is None
        else:
            prev_state, prev_at = previous[case]
            assert from_state == prev_state and at >= prev_at
        previous[case] = (to_state, at)
        final[case] = (state, to_state)
    assert all(state == last for state, last in final.values())


def test_same_seed_same_world():
    from world.build import build_world

    a = build_world(11, 0.003, date(2026, 11, 1))
    b = build_world(11, 0.003, date(2026, 11, 1))
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name


def test_different_seed_different_world():
    from world.plan import population_plan

    a = population_plan(np.random.default_rng(1))[2]["population"]
    b = population_plan(np.random.default_rng(2))[2]["population"]
    assert not a.equals(b)


def test_records_carry_a_last_update_some_of_it_stale(small_world_engine):
    """数据质量's 长期未更新 check (docs/import.md) needs demo records that were not updated for 24 months."""
    with small_world_engine.connect() as conn:
        as_of = conn.execute(text("SELECT value FROM world_meta WHERE key = 'as_of'")).scalar()
        for table in ("person", "household", "organisation"):
            n, missing, stale, future = conn.execute(text(
                f"SELECT count(*), sum(updated_at IS NULL), sum(updated_at < date(:d, '-24 months')),"
                f" sum(updated_at > :d) FROM {table}"), {"d": as_of}).one()
            assert n and not missing and not future, table
            assert 0.05 < stale / n < 0.2, (table, stale / n)
