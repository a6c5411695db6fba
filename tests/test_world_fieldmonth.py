"""The demo world's month of field work (docs/demo-world.md): patrols whose stored distance is the length of their
stored track, check-ins inside the patrolling worker's own grid and time, tasks mostly on time with some late and
some still open past their deadline (escalated), follow-up visits by the grids' workers; the same seed, the same
month."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import numpy as np
import pandas as pd
import pytest

from console.duty.rules import task_due_hours
from console.field.track import haversine_m
from world import fieldmonth


@pytest.fixture(scope="module")
def db(small_world_db):
    con = sqlite3.connect(small_world_db)
    yield con
    con.close()


def frame(con, sql) -> pd.DataFrame:
    return pd.read_sql_query(sql, con)


def test_patrols_have_tracks_whose_length_is_the_stored_distance(db):
    p = frame(db, "select * from patrol")
    assert len(p) > 100 and p["worker"].str.fullmatch(r"wg\d{15}").all()
    assert (p["worker"].str[2:] == p["grid_code"]).all()
    assert (p["ended_at"] > p["started_at"]).all()
    for row in p.sample(50, random_state=1).itertuples():
        line = json.loads(row.track)
        coords = line["coordinates"] if line["type"] == "LineString" else [line["coordinates"]]
        assert len(coords) == row.points
        length = sum(haversine_m(a, b) for a, b in zip(coords, coords[1:]))
        assert length == pytest.approx(row.distance_m, abs=1.0)
    grids = frame(db, "select code, min_lon, max_lon, min_lat, max_lat from grid").set_index("code")
    box = grids.loc[p["grid_code"]].to_numpy()
    assert ((p["lon"].to_numpy() >= box[:, 0] - 1e-6) & (p["lon"].to_numpy() <= box[:, 1] + 1e-6)).all()
    # (coordinates are stored to 6 decimals)
    # about a month: every patrol inside the 30 days before the world's date
    assert p["started_at"].min() >= "2026-10-01" and p["ended_at"].max() < "2026-11-01 12"


def test_checkins_are_in_the_patrols_grid_and_time(db):
    c = frame(db, """select c.kind, c.at, p.started_at, p.ended_at, p.grid_code, h.grid_code as hh_grid,
                            o.grid_code as org_grid from patrol_checkin c join patrol p on p.id = c.patrol_id
                     left join household h on h.id = c.household_id left join organisation o on o.id = c.place_id""")
    assert set(c["kind"]) == {"household", "key_place"}
    own = np.where(c["kind"] == "household", c["hh_grid"], c["org_grid"])
    assert (own == c["grid_code"]).all()
    assert ((c["at"] >= c["started_at"]) & (c["at"] <= c["ended_at"])).all()
    # 巡查覆盖率 varies between workers but most households of an active grid are visited in the month
    cov = frame(db, """select p.grid_code, count(distinct c.household_id) * 1.0 /
                              (select count(*) from household h where h.grid_code = p.grid_code) as rate
                       from patrol_checkin c join patrol p on p.id = c.patrol_id where c.kind = 'household'
                       group by p.grid_code""")["rate"]
    assert 0.6 < cov.median() <= 1.0 and cov.min() < cov.max()


def test_tasks_are_mostly_on_time_some_late_some_overdue_and_escalated(db):
    t = frame(db, "select * from field_task")
    s = frame(db, "select * from field_task_step")
    reported = s[s["action"] == "report"].set_index("task_id")["at"]
    done = t[t["state"] == "reported"].set_index("id")
    on_time = (reported.loc[done.index] <= done["due_at"]).mean()
    assert 0.75 < on_time < 0.97  # most on time, some late
    open_ = t[t["state"] != "reported"]
    assert len(open_) > 0 and (open_["due_at"] < "2026-11-01").all()
    escalated = set(s.loc[s["action"] == "escalate", "task_id"])
    assert set(open_["id"]) == escalated
    first = s.sort_values("id").groupby("task_id").first()
    assert (first["action"] == "dispatch").all() and (first["actor"] == fieldmonth.DUTY_OFFICER).all()
    # deadlines from the rules table, by task type
    titles = {title: rule for rule, _, title, _ in fieldmonth.TASK_TYPES}
    severity = {rule: sev for rule, sev, _, _ in fieldmonth.TASK_TYPES}
    hours = (pd.to_datetime(t["due_at"]) - pd.to_datetime(t["created_at"])).dt.total_seconds() / 3600
    expected = t["title"].map(lambda x: task_due_hours(titles[x], severity[titles[x]]))
    assert (hours == expected).all()


def test_followup_visits_carry_the_grids_worker_and_a_history(db):
    v = frame(db, """select v.special_person_id, v.worker, v.visited_on, s.grid_code from followup_visit v
                     join special_person s on s.id = v.special_person_id""")
    assert (v["worker"] == "wg" + v["grid_code"]).all()
    assert v.groupby("special_person_id").size().max() == 2  # the last visit and the one before


def test_the_store_reads_the_month_back(small_world_db):
    from sqlalchemy import select

    from console.store import make_engine, make_session_factory
    from console.store.field_models import FieldTask
    from console.store.patrol_models import Patrol, PatrolCheckin

    engine = make_engine(small_world_db, must_exist=True)
    with make_session_factory(engine)() as s:
        p = s.scalar(select(Patrol).order_by(Patrol.id))
        c = s.scalar(select(PatrolCheckin).where(PatrolCheckin.patrol_id == p.id))
        t = s.scalar(select(FieldTask).order_by(FieldTask.id))
        assert p.started_at < p.ended_at and t.created_at < t.due_at
        assert c is None or p.started_at <= c.at <= p.ended_at
    engine.dispose()


def test_the_same_seed_gives_the_same_month():
    grids = pd.DataFrame({"code": ["610902001001001"], "village_code": ["610902001001"], "label_lon": [109.0],
                          "label_lat": [32.7], "min_lon": [108.99], "max_lon": [109.01], "min_lat": [32.69],
                          "max_lat": [32.71], "generation_low": [1]})
    households = pd.DataFrame({"id": [1, 2, 3], "grid_code": ["610902001001001"] * 3, "lon": [109.0] * 3,
                               "lat": [32.7] * 3})
    orgs = pd.DataFrame({"id": [1], "grid_code": ["610902001001001"], "lon": [109.0], "lat": [32.7]})
    as_of = np.datetime64(date(2026, 11, 1), "D")
    a = fieldmonth.field_month(5, 1.0, grids, households, orgs, as_of)
    b = fieldmonth.field_month(5, 1.0, grids, households, orgs, as_of)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert len(a["patrol"]) > 0
