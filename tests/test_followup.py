"""特殊人群随访: cycles from rules.toml, due dates from the last visit, overdue → one duty alert per missed due date,
recording a visit moves the due date (scope and bad input refused by name)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from console.duty import rules
from console.duty.followup_sweep import followup_sweep, overdue
from console.services import areas, followup
from console.store import Alert, SpecialPerson
from console.store.duty_models import AlertInfo
from console.store.followup_models import FollowupVisit

TODAY = date(2026, 11, 1)


def test_cycles_come_from_the_rules_file():
    config = rules.load_config()
    assert rules.followup_cycle_days(config, "correction", None) == 30
    assert [rules.followup_cycle_days(config, "mental", lv) for lv in (0, 2, 3, 5)] == [90, 30, 14, 14]
    assert rules.followup_cycle_days({**config, "followup_overdue": {"enabled": False}}, "drug", None) is None


@pytest.fixture()
def sessions(world_sessions):
    return world_sessions


def _viewer(sessions, name: str, role: str, code: str):
    from console.security.audit import Auditor
    from console.security.guard import Viewer

    return Viewer.build(name, [role], [code], auditor=Auditor(sessions))


def test_overdue_raises_one_alert_per_due_date_and_a_visit_clears_it(sessions):
    config = rules.load_config()
    with sessions() as s, s.begin():
        sp = s.scalar(select(SpecialPerson).where(SpecialPerson.category == "correction",
                                                  SpecialPerson.county_code == "610924").limit(1))
        s.query(FollowupVisit).filter(FollowupVisit.special_person_id == sp.id).delete()
        sp.since = TODAY - timedelta(days=45)  # listed 45 days ago, never visited: due 15 days ago
        sp_id, person_id = sp.id, sp.person_id
    with sessions() as s:
        late = {x.id: due for x, due in overdue(s, config, TODAY)}
        assert late[sp_id] == TODAY - timedelta(days=15)
    with sessions() as s, s.begin():
        first = followup_sweep(s, config, TODAY)
    with sessions() as s, s.begin():
        assert followup_sweep(s, config, TODAY) == []  # the same missed date: no second alert
        mine = s.scalars(select(Alert).join(AlertInfo, AlertInfo.alert_id == Alert.id)
                         .where(Alert.rule == "followup_overdue", AlertInfo.person_id == person_id)).all()
        assert len(mine) == 1 and mine[0].id in first and mine[0].county_code == "610924"
        assert "社区矫正" in mine[0].title and "15 天" in mine[0].title
    viewer = _viewer(sessions, "ziyang_worker", "village", "610924")
    assert followup.record_visit(sessions, viewer, sp_id, TODAY, "visit", "入户，情况稳定", TODAY) is None
    with sessions() as s:
        assert sp_id not in {x.id for x, _ in overdue(s, config, TODAY)}
        rows = followup.schedule(s, areas.get_node(s, "610924"), viewer.scope, TODAY, config)
        mine = next(r for r in rows if r["_rid"] == sp_id)
        assert mine["上次随访"] == TODAY.isoformat() and mine["剩余天数"] == 30 and "*" in mine["公民身份号码"]


def test_recording_a_visit_refuses_by_name(sessions):
    with sessions() as s:
        sp_id = s.scalar(select(SpecialPerson.id).where(SpecialPerson.county_code == "610924").limit(1))
        before = s.scalar(select(func.count()).select_from(FollowupVisit))
    other = _viewer(sessions, "langao", "village", "610925")
    mine = _viewer(sessions, "ziyang", "village", "610924")
    mediator = _viewer(sessions, "mediator", "dispute_handler", "610924")  # no right to special-population records
    assert "数据范围" in followup.record_visit(sessions, other, sp_id, TODAY, "visit", "", TODAY)
    assert "权限" in followup.record_visit(sessions, mediator, sp_id, TODAY, "visit", "", TODAY)
    assert "晚于今天" in followup.record_visit(sessions, mine, sp_id, TODAY + timedelta(days=1), "visit", "", TODAY)
    assert "随访方式" in followup.record_visit(sessions, mine, sp_id, TODAY, "telepathy", "", TODAY)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(FollowupVisit)) == before


def test_the_follow_up_sweep_runs_hourly_while_cameras_are_swept_every_30_seconds():
    """Follow-ups fall due by the day: reading every special-population record every 30 s is waste (rules.toml)."""
    from console.duty.sweeper import due_steps

    config = {"camera_offline": {"sweep_seconds": 30}, "followup_overdue": {"sweep_minutes": 60},
              "task_overdue": {"sweep_seconds": 600}}
    assert due_steps(config, 0.0, {}) == ["offline", "escalated", "followup", "task_overdue"]
    last = dict.fromkeys(["offline", "escalated", "followup", "task_overdue"], 0.0)
    assert due_steps(config, 30.0, last) == ["offline", "escalated"]
    assert due_steps(config, 600.0, last) == ["offline", "escalated", "task_overdue"]
    last["task_overdue"] = 3000.0
    assert due_steps(config, 3599.0, last) == ["offline", "escalated"]
    assert due_steps(config, 3600.0, last) == ["offline", "escalated", "followup", "task_overdue"]
