"""Planner service on a writable copy of the small world: drafts, preview, commit, history, rollback, conflicts."""

from __future__ import annotations

import shutil
from datetime import datetime

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString
from sqlalchemy import func, select

from console.planner import commit as committing, drafts, evaluate as evaluating
from console.planner.village import ConflictError, PlannerError, current_generation, grids_at, history, load_village
from console.security.audit import Auditor
from console.security.guard import AccessDenied, Viewer
from console.store import Grid, GridWorker, Household, Person, make_engine, make_session_factory
from console.store.planner_models import GridMove
from console.store.security_models import AuditLog
from geodata.planner import draft as drafting

NOW = datetime(2026, 11, 26, 10, 0)


@pytest.fixture()
def store(small_world_db, tmp_path):
    target = tmp_path / "planner.sqlite"
    shutil.copy(small_world_db, target)
    engine = make_engine(str(target), must_exist=True)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def village(store) -> str:
    """A village with at least 3 grids and households in each."""
    with store() as s:
        code = s.scalar(select(Grid.village_code).where(Grid.generation_high.is_(None), Grid.households > 20)
                        .group_by(Grid.village_code).having(func.count() >= 3).order_by(Grid.village_code))
    assert code, "small world has no village with 3 populated grids"
    return code


def planner(store, scope, name="planner1", roles=("grid_planner",)) -> Viewer:
    return Viewer.build(name, roles, scope, auditor=Auditor(store, lambda: NOW))


def busiest(data) -> int:
    inside = [shapely.contains_xy(g.geometry, data.lon, data.lat).sum() for g in data.grids]
    return int(np.argmax(inside))


def split_line(data, i: int) -> LineString:
    """A north–south line through grid i at the median longitude of its households, just reaching past it."""
    geom = data.grids[i].geometry
    inside = shapely.contains_xy(geom, data.lon, data.lat)
    xm = float(np.median(data.lon[inside]))
    _, y0, _, y1 = geom.bounds
    return LineString([(xm, y0 - 1e-5), (xm, y1 + 1e-5)])


def households_per_grid(s, village):
    return dict(s.execute(select(Household.grid_code, func.count()).where(Household.village_code == village)
                          .group_by(Household.grid_code)).all())


def test_split_preview_commit_history_and_rollback(store, village):
    v = planner(store, [village[:6]])
    with store() as s, s.begin():
        data = load_village(s, village)
        before = data.grids
        big = busiest(data)
        d = drafts.start(s, v, village, now=NOW)
        state = drafting.split(before, data.geometry, split_line(data, big))
        drafts.push(s, v, d.id, state, "拆分", now=NOW)
        draft_id = d.id
        ev = evaluating.evaluate(data, state)
        assert ev.committable, [p.message for p in ev.problems]
        pv = committing.preview(s, data, state)
        assert len(pv.added) == 2 and pv.retired == [before[big].code] and before[big].code in pv.added
        moved_households = sum(r["household"] for r in pv.pairs)
        assert moved_households > 0
        assert all(r["from"] == before[big].code for r in pv.pairs)
        gen0 = current_generation(s, village)
        counts_before = households_per_grid(s, village)

    with store() as s, s.begin():
        result = committing.commit_draft(s, v, draft_id, "人口增长，拆分网格", now=NOW)
    assert result.moved["household"] == moved_households

    with store() as s:
        assert current_generation(s, village) == result.generation > gen0
        now_grids = grids_at(s, village)
        assert len(now_grids) == len(before) + 1
        old = grids_at(s, village, gen0)
        assert sorted(g.code for g in old) == sorted(g.code for g in before)
        # every household sits in the current grid that contains it, and says which generation put it there
        per_grid = households_per_grid(s, village)
        rows = {r.code: r for r in s.scalars(select(Grid).where(Grid.village_code == village,
                                                                  Grid.generation_high.is_(None)))}
        assert {c: rows[c].households for c in rows if rows[c].households} == per_grid
        pts = s.execute(select(Household.lon, Household.lat, Household.grid_code, Household.assign_generation)
                        .where(Household.village_code == village)).all()
        for lon, lat, code, gen in pts:
            if code in result.added:
                assert gen == result.generation
                assert shapely.intersects(shapely.from_wkb(rows[code].geom_wkb), shapely.Point(lon, lat))
        persons_moved = s.scalar(select(func.count()).select_from(GridMove).where(
            GridMove.generation_id == result.generation, GridMove.kind == "person"))
        assert persons_moved == result.moved["person"] > 0
        (new_code,) = set(result.added) - {g.code for g in before}
        assert s.scalar(select(func.count()).select_from(Person).where(
            Person.grid_code == new_code)) == result.moved["person"]
        hist = history(s, village)
        assert hist[0]["id"] == result.generation and hist[0]["current"] and hist[0]["created_by"] == "planner1"
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "grid.commit")) == 1

    with store() as s, s.begin():
        back = committing.rollback_to(s, v, village, gen0, "", now=NOW)
    with store() as s:
        restored = grids_at(s, village)
        assert sorted(g.code for g in restored) == sorted(g.code for g in before)
        by = {g.code: g for g in restored}
        assert all(by[g.code].geometry.equals(g.geometry) for g in before)
        assert households_per_grid(s, village) == counts_before
        assert history(s, village)[0]["rollback_of"] == gen0
        assert back.generation > result.generation
        # the split generation is still there to look at
        assert len(grids_at(s, village, result.generation)) == len(before) + 1


def test_second_commit_on_the_same_base_is_told_to_rebase(store, village):
    a, b = planner(store, [village], "planner_a"), planner(store, [village], "planner_b")
    with store() as s, s.begin():
        data = load_village(s, village)
        g = data.grids
        state = drafting.split(g, data.geometry, split_line(data, busiest(data)))
        da = drafts.start(s, a, village, state, "拆分", now=NOW).id
        db = drafts.start(s, b, village, drafting.merge(g, *_neighbours(g)), "合并", now=NOW).id
    with store() as s, s.begin():
        committing.commit_draft(s, a, da, "A 的调整")
    with store() as s:
        grids_after_a = grids_at(s, village)
    with pytest.raises(ConflictError, match="rebase"):
        with store() as s, s.begin():
            committing.commit_draft(s, b, db, "B 的调整")
    with store() as s:
        assert [x.code for x in grids_at(s, village)] == [x.code for x in grids_after_a]
        assert drafts.get(s, b, db).status == "open"          # B's work is kept


def _neighbours(grids):
    for i in range(len(grids)):
        for j in range(i + 1, len(grids)):
            if shapely.intersection(grids[i].geometry.boundary, grids[j].geometry.boundary).length > 0:
                return i, j
    raise AssertionError("no neighbouring grids")


def test_commit_refuses_a_draft_with_errors_and_writes_nothing(store, village):
    v = planner(store, [village])
    with store() as s, s.begin():
        g = load_village(s, village).grids
        holey = (drafting.DraftGrid(g[0].code, g[0].geometry.buffer(-0.0005)), *g[1:])
        d = drafts.start(s, v, village, holey, "内缩", now=NOW).id
        gen0 = current_generation(s, village)
    with pytest.raises(PlannerError, match="空隙"):
        with store() as s, s.begin():
            committing.commit_draft(s, v, d, "试一试")
    with store() as s:
        assert current_generation(s, village) == gen0
        assert s.scalar(select(func.count()).select_from(GridMove)) == 0


def test_commit_needs_a_reason_and_a_change(store, village):
    v = planner(store, [village])
    with store() as s, s.begin():
        d = drafts.start(s, v, village, now=NOW).id
    with pytest.raises(PlannerError, match="原因"):
        with store() as s, s.begin():
            committing.commit_draft(s, v, d, "  ")
    with pytest.raises(PlannerError, match="完全相同"):
        with store() as s, s.begin():
            committing.commit_draft(s, v, d, "没有改动")


@pytest.mark.parametrize("roles, scope", [(("town",), None), (("grid_planner",), "610925")])
def test_planning_needs_the_permission_and_the_village_in_scope(store, village, roles, scope):
    v = planner(store, [scope or village[:6]], roles=roles)
    with pytest.raises(AccessDenied):
        with store() as s, s.begin():
            drafts.start(s, v, village, now=NOW)


def test_undo_redo_walks_the_steps_and_a_new_edit_drops_the_redo_tail(store, village):
    v = planner(store, [village])
    with store() as s, s.begin():
        data = load_village(s, village)
        g = data.grids
        d = drafts.start(s, v, village, now=NOW)
        merged = drafting.merge(g, *_neighbours(g))
        drafts.push(s, v, d.id, merged, "合并")
        assert len(drafts.state_of(d)) == len(g) - 1
        drafts.move_cursor(s, v, d.id, -1)
        assert len(drafts.state_of(d)) == len(g)
        drafts.move_cursor(s, v, d.id, -1)                     # already at the start: no-op
        assert d.cursor == 0
        drafts.move_cursor(s, v, d.id, +1)
        assert len(drafts.state_of(d)) == len(g) - 1
        drafts.move_cursor(s, v, d.id, -1)
        drafts.push(s, v, d.id, drafting.delete(g, 0), "删除")
        assert drafts.step_labels(d) == ["现行网格", "删除"]


def test_retired_grid_workers_follow_their_households(store, village):
    v = planner(store, [village])
    with store() as s, s.begin():
        data = load_village(s, village)
        g = data.grids
        i, j = _neighbours(g)
        merged = drafting.merge(g, i, j)
        gone = ({g[i].code, g[j].code} - {x.code for x in merged}).pop()
        kept = ({g[i].code, g[j].code} - {gone}).pop()
        had = s.scalar(select(func.count()).select_from(GridWorker).where(GridWorker.grid_code == gone))
        d = drafts.start(s, v, village, merged, "合并", now=NOW).id
    with store() as s, s.begin():
        committing.commit_draft(s, v, d, "合并两个小网格")
    with store() as s:
        assert s.scalar(select(func.count()).select_from(GridWorker).where(GridWorker.grid_code == gone)) == 0
        assert s.scalar(select(func.count()).select_from(GridWorker).where(GridWorker.grid_code == kept)) >= had


def test_generation_stamps_and_counts_match_a_fresh_assignment(store, village):
    """After a commit the stored grid of every person equals what the engine says for the new grids."""
    v = planner(store, [village])
    with store() as s, s.begin():
        data = load_village(s, village)
        g = data.grids
        state = drafting.merge(g, *_neighbours(g))
        d = drafts.start(s, v, village, state, "合并", now=NOW).id
    with store() as s, s.begin():
        committing.commit_draft(s, v, d, "合并")
    with store() as s:
        from geodata.planner.moves import new_grid_codes
        now = grids_at(s, village)
        rows = s.execute(select(Person.lon, Person.lat, Person.grid_code).where(Person.village_code == village)).all()
        lon, lat, code = (np.array(c) for c in zip(*rows))
        assert (new_grid_codes(now, lon.astype(float), lat.astype(float)) == code).all()


# ------------------------------------------------------------------------------------------ import
@pytest.mark.parametrize("fmt, crs", [("geojson", "WGS84"), ("shp", "GCJ02"), ("gpkg", "CGCS2000")])
def test_exported_grids_come_back_unchanged_through_every_format_and_crs(store, village, fmt, crs):
    from console.planner.importing import imported_state
    from geodata.planner import gridfile

    with store() as s:
        data = load_village(s, village)
    out = [{"code": g.code, "name": g.name, "village_code": village, "households": 0, "residents": 0,
            "geometry": g.geometry} for g in data.grids]
    content, filename, _ = gridfile.write_grid_file(out, fmt, crs=crs)
    state, _warnings = imported_state(content, filename, data, crs=crs)
    assert sorted(g.code for g in state) == sorted(g.code for g in data.grids)
    with store() as s:
        pv = committing.preview(s, data, state)
    assert pv.empty, (pv.added, pv.retired)              # snapped back onto the stored borders exactly


def test_imported_file_without_codes_inherits_them_and_a_colliding_code_is_an_error(store, village):
    from console.planner.importing import imported_state
    from geodata.planner import gridfile

    with store() as s:
        data = load_village(s, village)
    no_codes = [{"code": "", "name": "", "village_code": village, "households": 0, "residents": 0,
                 "geometry": g.geometry} for g in data.grids]
    content, filename, _ = gridfile.write_grid_file(no_codes, "geojson")
    state, _ = imported_state(content, filename, data)
    assert sorted(g.code for g in state) == sorted(g.code for g in data.grids)
    clash = [{**no_codes[0], "code": data.grids[0].code}, {**no_codes[1], "code": data.grids[0].code},
             *[{**r, "code": g.code} for r, g in zip(no_codes[2:], data.grids[2:])]]
    content, filename, _ = gridfile.write_grid_file(clash, "geojson")
    state, _ = imported_state(content, filename, data)
    ev = evaluating.evaluate(data, state)
    assert [p.kind for p in ev.errors] == ["codes"] and "重复" in ev.errors[0].message


def test_a_bad_file_is_refused_with_the_reader_message(store, village):
    from console.planner.importing import imported_state
    from geodata.planner.draft import EditError

    with store() as s:
        data = load_village(s, village)
    with pytest.raises(EditError):
        imported_state(b"not a geojson", "grids.geojson", data)


def test_two_planners_committing_at_the_same_moment_one_wins_the_other_rebases(store, village):
    import threading

    a, b = planner(store, [village], "planner_a"), planner(store, [village], "planner_b")
    with store() as s, s.begin():
        data = load_village(s, village)
        g = data.grids
        i, j = _neighbours(g)
        da = drafts.start(s, a, village, drafting.merge(g, i, j), "合并", now=NOW).id
        db = drafts.start(s, b, village, drafting.split(g, data.geometry, split_line(data, busiest(data))),
                          "拆分", now=NOW).id
        gen0 = current_generation(s, village)
    start, results = threading.Barrier(2), {}

    def run(name, viewer, draft_id):
        start.wait()
        try:
            with store() as s, s.begin():
                results[name] = committing.commit_draft(s, viewer, draft_id, f"{name} 的调整").generation
        except ConflictError as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=("a", a, da)), threading.Thread(target=run, args=("b", b, db))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [k for k, v in results.items() if isinstance(v, int)]
    lost = [k for k, v in results.items() if isinstance(v, ConflictError)]
    assert len(won) == 1 and len(lost) == 1, results
    with store() as s:
        assert current_generation(s, village) == results[won[0]] > gen0
        assert s.scalar(select(func.count()).select_from(GridMove).where(
            GridMove.generation_id != results[won[0]])) == 0       # nothing half-written by the loser
        loser = {"a": (a, da), "b": (b, db)}[lost[0]]
        assert drafts.get(s, *loser).status == "open"


def test_another_planners_draft_cannot_be_read_or_changed(store, village):
    mine, other = planner(store, [village], "planner_a"), planner(store, [village], "planner_b")
    with store() as s, s.begin():
        d = drafts.start(s, mine, village, now=NOW).id
    with store() as s:
        with pytest.raises(PlannerError, match="其他规划员"):
            drafts.get(s, other, d)
