"""The field simulator (console/simulate_field.py) drives virtual workers through the real HTTP API of a running
console: logged in like a phone, a patrol with its track and check-ins, an event, a follow-up visit, the duty
desk's task accepted and reported; sent twice (lost answers) it stores everything once."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from console import simulate_field
from console.store import Alert
from console.store.duty_models import AlertInfo
from tests.browser.tinyworld import build
from tests.security_login import PASSWORD, console_on_copy

GRIDS = ("610924100200001", "610924100200002")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build(tmp_path_factory.mktemp("simulate") / "tiny.sqlite")


def q(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_two_virtual_workers_work_a_shift_through_the_api(tiny, tmp_path):
    accounts = [("sim_a", ["grid_worker"], [GRIDS[0]]), ("sim_b", ["grid_worker"], [GRIDS[1]]),
                ("duty_s", ["duty_officer"], ["610900"])]
    with console_on_copy(tiny, tmp_path, accounts) as (base, sessions):
        with sessions() as s:
            now = datetime(2026, 11, 26, 8, 0)
            alert = Alert(rule="dispute_scale", kind="dispute", severity="high", state="new", title="村口纠纷升级",
                          raised_at=now, updated_at=now, county_code=GRIDS[0][:6], town_code=GRIDS[0][:9],
                          village_code=GRIDS[0][:12], grid_code=GRIDS[0])
            s.add(alert)
            s.flush()
            s.add(AlertInfo(alert_id=alert.id))
            s.commit()
            alert_id = alert.id
        duty = simulate_field.Phone(base, "duty_s", PASSWORD, 1)
        sent = duty.http.post(base + "/api/duty/tasks", json={"alert_id": alert_id, "assignee": "sim_a", "note": "请到场"})
        assert sent.status_code == 201, sent.text
        out = simulate_field.run(base, ["sim_a", "sim_b"], PASSWORD, fixes=15, checkins=2, replay=True)
        db = str(tmp_path / "w.sqlite")
    assert out["failed_workers"] == 0, out
    assert out["patrols"] == 2 and out["events"] == 2 and out["visits"] == 2 and out["tasks_reported"] == 1
    assert out["rejected"] == 0 and out["duplicate"] == 0  # the replays were answered, not counted as new sends
    assert q(db, "select worker, ended_at is not null, points > 10, distance_m > 0 from patrol order by worker") == [
        ("sim_a", 1, 1, 1), ("sim_b", 1, 1, 1)]
    assert q(db, "select count(*) from patrol_checkin") == [(out["checkins"],)] and out["checkins"] >= 4
    assert q(db, "select count(*) from followup_visit where worker like 'sim_%'") == [(2,)]
    assert q(db, "select state from field_task") == [("reported",)]
    assert q(db, "select count(*) from field_record_version") == [(out["created"] + out["updated"],)]
