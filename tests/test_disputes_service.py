"""register / transition against a real (tiny) store: validation, scope, duplicates, history, audit, atomicity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from console.disputes import ledger, service
from console.security.guard import AccessDenied
from console.store import AreaScope, Dispute, DisputeEvent, DisputeParty
from console.store.security_models import AuditLog
from tests.test_disputes_fixtures import NOW, case_form, grid_point, ident, store, tiny_template, viewer  # noqa: F401


def _count(store, model):
    with store() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_register_route_close(store, grid_point):
    lon, lat, grid = grid_point
    v = viewer(store)
    res = service.register(store, v, case_form(lon, lat), now=NOW)
    assert res.ok, res.message
    assert res.code.startswith(f"JF{grid[:6]}20261126") and res.code.endswith("0001")
    with store() as s:
        case = s.get(Dispute, res.dispute_id)
        assert (case.grid_code, case.state, case.complexity) == (grid, "registered", "simple")
        assert case.deadline == NOW + timedelta(days=1)
    steps = [("accept", {}), ("assign", {"level": "town", "department": ""}), ("start", {}),
             ("resolve", {"outcome": "达成调解协议"}), ("feedback", {"note": "已告知双方"}),
             ("revisit", {"satisfaction": "满意"}), ("archive", {})]
    t = NOW
    for action, values in steps:
        t += timedelta(hours=1)
        r = service.transition(store, v, res.dispute_id, action, values, now=t)
        assert r.ok, (action, r.message)
    with store() as s:
        case = s.get(Dispute, res.dispute_id)
        assert (case.state, case.handling_level, case.department, case.satisfaction) == \
            ("archived", "town", "镇（街道）综治中心", "satisfied")
        assert case.success is True and case.closed_at == NOW + timedelta(hours=4)
        detail = ledger.case_detail(s, v.scope, res.dispute_id, t)
        actions = s.scalars(select(AuditLog.action).where(AuditLog.object == f"dispute:{res.code}")).all()
    assert [h["to"] for h in detail["history"]] == ["登记", "受理", "分流交办", "调处中", "化解成功", "反馈", "回访", "归档"]
    assert detail["parties"][0]["id_number"] == ident(seq="123")[:6] + "********" + ident(seq="123")[-4:]
    assert actions[0] == "dispute.register" and "dispute.archive" in actions and len(actions) == 8


def test_refused_transition_saves_nothing(store, grid_point):
    v = viewer(store)
    res = service.register(store, v, case_form(*grid_point[:2]), now=NOW)
    r = service.transition(store, v, res.dispute_id, "archive", {}, now=NOW)
    assert not r.ok and "不能执行" in r.message
    r = service.transition(store, v, res.dispute_id, "accept", {}, now=NOW)
    r = service.transition(store, v, res.dispute_id, "assign", {"level": "province"}, now=NOW)
    assert not r.ok and "交办层级" in r.message
    with store() as s:
        assert s.get(Dispute, res.dispute_id).state == "accepted"
        assert s.scalar(select(func.count()).where(DisputeEvent.dispute_id == res.dispute_id)) == 2


def test_bad_input_per_field(store):
    before = _count(store, Dispute)
    res = service.register(store, viewer(store), case_form(130.0, 32.0, category="?", occurred_on="2027-01-01"),
                           now=NOW)
    assert not res.ok
    assert res.errors["lon"] == "地点不在安康市范围内" and "类别" in res.errors["category"]
    assert res.errors["occurred_on"] == "发生日期不能晚于今天"
    assert _count(store, Dispute) == before


def test_point_outside_every_grid(store):
    res = service.register(store, viewer(store), case_form(105.5, 31.5), now=NOW)
    assert not res.ok and "网格" in res.errors["lon"]


def test_scope_and_permission(store, grid_point):
    other = viewer(store, scope=("610925",), name="other")
    with pytest.raises(AccessDenied):
        service.register(store, other, case_form(*grid_point[:2]), now=NOW)
    leader = viewer(store, roles=("city_leader",), scope=("610900",), name="leader")
    with pytest.raises(AccessDenied):
        service.register(store, leader, case_form(*grid_point[:2]), now=NOW)
    res = service.register(store, viewer(store), case_form(*grid_point[:2]), now=NOW)
    with pytest.raises(AccessDenied):
        service.transition(store, other, res.dispute_id, "accept", {}, now=NOW)
    village = viewer(store, roles=("village",), scope=(grid_point[2][:12],), name="vil")
    assert service.transition(store, village, res.dispute_id, "accept", {}, now=NOW).ok
    with pytest.raises(AccessDenied):  # 分流交办 needs dispute:route
        service.transition(store, village, res.dispute_id, "assign", {"level": "town"}, now=NOW)
    with store() as s:
        assert ledger.case_detail(s, other.scope, res.dispute_id, NOW) is None
        refused = s.scalar(select(func.count()).where(AuditLog.result == "refused"))
    assert refused >= 4


def test_duplicates_flagged_before_saving(store, grid_point):
    v = viewer(store)
    first = service.register(store, v, case_form(*grid_point[:2]), now=NOW)
    again = service.register(store, v, case_form(*grid_point[:2], title="又一次"), now=NOW + timedelta(days=1))
    assert not again.ok and again.duplicates[0].code == first.code and "可能重复" in again.message
    forced = service.register(store, v, case_form(*grid_point[:2]), now=NOW + timedelta(days=1), allow_duplicate=True)
    assert forced.ok and forced.code != first.code
    assert _count(store, DisputeParty) >= 4


def test_overdue_in_ledger_with_clock(store, grid_point):
    v = viewer(store)
    res = service.register(store, v, case_form(*grid_point[:2]), now=NOW)
    with store() as s:
        late, _ = ledger.query(s, v.scope, ledger.Filters(overdue=True, text=res.code), NOW + timedelta(days=2))
        fine, _ = ledger.query(s, v.scope, ledger.Filters(overdue=True, text=res.code), NOW + timedelta(hours=2))
        sup = ledger.supervision(s, v.scope, NOW + timedelta(days=2))
        none, total = ledger.query(s, AreaScope.of(["610925"]), ledger.Filters(text=res.code), NOW)
    assert [r["code"] for r in late] == [res.code] and late[0]["status"] == "已超期" and fine == []
    assert res.code in {r["code"] for r in sup}
    assert none == [] and total == 0
