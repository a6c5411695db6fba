"""Pure rules: deadlines and overdue (injected clock), routing, duplicates, case codes, validation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from console.disputes import codes, deadlines, duplicates, routing
from console.disputes.validation import validate_case
from console.disputes.workflow import COMPLEXITY, KEEP
from tests.test_disputes_fixtures import ident

T0 = datetime(2026, 11, 1, 9, 0)


@pytest.mark.parametrize("cx,days", [("simple", 1), ("ordinary", 7), ("complex", 20), ("mediation", 30)])
def test_default_limits(cx, days):
    assert deadlines.next_deadline(COMPLEXITY, None, cx, T0) == T0 + timedelta(days=days)


def test_deadline_kinds_and_config():
    d = T0 + timedelta(days=3)
    assert deadlines.next_deadline(KEEP, d, "simple", T0) == d
    assert deadlines.next_deadline(7, d, "simple", T0) == T0 + timedelta(days=7)
    policy = deadlines.DeadlinePolicy.from_mapping({"simple": 2})
    assert deadlines.next_deadline(COMPLEXITY, None, "simple", T0, policy) == T0 + timedelta(days=2)
    for bad in ({"simple": 0}, {"simple": "3"}, {"hard": 3}):
        with pytest.raises(ValueError):
            deadlines.DeadlinePolicy.from_mapping(bad)


def test_policy_from_environment():
    assert deadlines.configured({}) is deadlines.DEFAULT_POLICY
    assert deadlines.configured({deadlines.ENV_VAR: '{"complex": 15}'}).days["complex"] == 15
    with pytest.raises(ValueError, match="配置错误"):
        deadlines.configured({deadlines.ENV_VAR: "[1]"})


def test_overdue_with_clock():
    dl = T0 + timedelta(days=1)
    assert not deadlines.is_overdue("mediating", dl, dl)
    assert deadlines.is_overdue("mediating", dl, dl + timedelta(seconds=1))
    assert not deadlines.is_overdue("resolved", dl, dl + timedelta(days=9))
    assert not deadlines.is_overdue("mediating", None, dl + timedelta(days=9))
    assert deadlines.status("assigned", dl, dl - timedelta(hours=2)) == "due_soon"
    assert deadlines.status("assigned", dl, dl - timedelta(days=3)) == "ok"
    assert deadlines.status("assigned", dl, dl + timedelta(hours=2)) == "overdue"
    assert deadlines.status("archived", dl, dl + timedelta(hours=2)) == "closed"
    assert deadlines.overdue_days(dl, dl + timedelta(hours=1)) == 1
    assert deadlines.was_late(dl, dl + timedelta(hours=1), T0) and not deadlines.was_late(dl, T0, T0)


def test_supervision_list_names_who_is_late():
    now = T0 + timedelta(days=10)
    cases = [{"code": "A", "state": "mediating", "deadline": T0, "department": "司法所", "handler": "王五"},
             {"code": "B", "state": "assigned", "deadline": T0 + timedelta(days=8)},
             {"code": "C", "state": "resolved", "deadline": T0}]
    out = deadlines.supervision_list(cases, now)
    assert [r["code"] for r in out] == ["A", "B"]
    assert out[0]["responsible"] == "司法所 / 王五" and out[0]["late_days"] == 11
    assert out[1]["responsible"] == "未交办"


@pytest.mark.parametrize("cx,level,area", [("simple", "village", "610924100201"), ("ordinary", "town", "610924100"),
                                           ("mediation", "town", "610924100"), ("complex", "county", "610924")])
def test_routing_levels(cx, level, area):
    r = routing.suggest("neighbour", cx, "610924100201")
    assert (r.level, r.area_code) == (level, area)


def test_routing_department_and_override():
    assert routing.suggest("labour", "complex", "610924100201").department == "人社局劳动监察"
    assert routing.suggest("labour", "simple", "610924100201").department.startswith("村")
    s = routing.suggest("neighbour", "simple", "610924100201")
    o = routing.override(s, "county", "", "610924100201")
    assert (o.level, o.area_code, o.department, o.reason) == ("county", "610924", "县（区）综治中心", "人工调整交办")
    assert routing.override(s, None, None, "610924100201") == s
    with pytest.raises(ValueError, match="交办层级"):
        routing.override(s, "province", "", "610924100201")
    with pytest.raises(ValueError, match="类别"):
        routing.suggest("ufo", "simple", "610924100201")
    with pytest.raises(ValueError, match="属地"):
        routing.suggest("neighbour", "simple", None)


def test_complexity_default():
    assert routing.complexity_of("labour", 2, "low") == "complex"
    assert routing.complexity_of("neighbour", 40, "low") == "complex"
    assert routing.complexity_of("neighbour", 2, "low") == "simple"
    assert routing.complexity_of("neighbour", 5, "medium") == "ordinary"


def _case(code, **kw):
    base = {"code": code, "category": "neighbour", "village_code": "610924100201", "place": "一组3号",
            "lon": 108.5, "lat": 32.5, "registered_at": T0, "party_ids": set()}
    base.update(kw)
    return base


def test_duplicates():
    cand = _case("NEW", party_ids={ident(seq="111")}, place="二组")
    assert duplicates.find(cand, [_case("A", party_ids={ident(seq="111")}, category="land", lon=None)])[0].reason \
        .startswith("当事人相同")
    assert duplicates.find(cand, [_case("B", place="x")])[0].code == "B"  # same spot (distance 0)
    assert duplicates.find(cand, [_case("C", lon=108.6, place="二组")])[0].code == "C"  # same place text
    assert duplicates.find(cand, [_case("D", lon=108.6)]) == []  # far and another place
    assert duplicates.find(cand, [_case("E", category="land")]) == []
    assert duplicates.find(cand, [_case("F", registered_at=T0 - timedelta(days=31))]) == []
    assert duplicates.find(cand, [_case("G", registered_at=T0 - timedelta(days=31))], window_days=60)[0].code == "G"


def test_codes():
    assert codes.make_code("610924", date(2026, 11, 26), 7) == "JF610924202611260007"
    assert codes.parse_code("JF610924202611260007") == ("610924", date(2026, 11, 26), 7)
    assert codes.parse_code("JF610924202613260007") is None
    assert codes.next_code(["JF610924202611260007", "JF610925202611260009"], "610924", date(2026, 11, 26)) \
        == "JF610924202611260008"
    with pytest.raises(ValueError):
        codes.make_code("6109", date(2026, 1, 1), 1)


def test_validation_messages():
    today = date(2026, 11, 26)
    raw = {"title": "", "category": "外星人", "occurred_on": "2026-12-01", "place": "x", "lon": 120, "lat": 32,
           "scale": "很多", "description": "d", "risk_grade": "低", "parties": [{"name": "张三", "id_number": "123"}]}
    _, errors = validate_case(raw, today)
    assert errors["title"] == "事件名称不能为空"
    assert "未知的纠纷类别" in errors["category"]
    assert errors["occurred_on"] == "发生日期不能晚于今天"
    assert errors["lon"] == "地点不在安康市范围内"
    assert "涉及人数" in errors["scale"]
    assert "身份证号码" in errors["parties"]
    good = dict(raw, title="t", category="邻里纠纷", occurred_on="2026/11/20", lon=108.5, scale="3",
                parties=[{"name": "张三", "id_number": ident(), "role": "申请人"}])
    clean, errors = validate_case(good, today)
    assert errors == {} and clean["category"] == "neighbour" and clean["parties"][0]["sex"] == "M"
    assert clean["risk_grade"] == "low" and clean["parties"][0]["role"] == "applicant"
