"""督导考评 (console/services/assessment, docs/assessment.md): the arithmetic as pure functions, every area figure
against direct SQL written independently of the service on a fixture month, scope, the page's callbacks through
the secured console (export, print, weights) and forged bodies."""

from __future__ import annotations

import io
import shutil
import sqlite3
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from assessment_month import COUNTIES, MONTH, write_month
from console.services.assessment import Month
from console.services.assessment.indicators import INDICATORS
from console.services.assessment.scores import Row, ranked, rate, score



# ------------------------------------------------------------------ pure
def test_a_month_is_counted_in_beijing_time():
    assert MONTH.start_utc == datetime(2026, 9, 30, 16, 0) and MONTH.end_utc == datetime(2026, 10, 31, 16, 0)
    assert Month(2026, 1).previous() == Month(2025, 12) and Month(2026, 12).next() == Month(2027, 1)
    assert Month.parse("2026-10", date(2026, 12, 6)) == MONTH
    for junk in (None, "", "2026-13", "abc", "10-2026", "2026-10; drop table"):
        assert Month.parse(junk, date(2026, 12, 6)) == Month(2026, 11), junk
    assert [m.key for m in MONTH.back(3)] == ["2026-08", "2026-09", "2026-10"]


def test_the_score_weighs_only_indicators_with_something_to_count():
    assert rate((3, 4)) == 0.75 and rate((0, 0)) is None and rate(None) is None and rate((5, 4)) == 1.0
    weights = {"a": 30, "b": 10, "c": 60}
    assert score({"a": 1.0, "b": 0.0, "c": None}, weights) == 75.0  # c had nothing due: neither helps nor hurts
    assert score({"a": None, "b": None}, weights) is None
    assert score({"a": 0.5, "b": 1.0, "c": 1.0}, {"a": 0, "b": 10, "c": 10}) == 100.0  # weight 0: switched off
    assert score({"a": 1.0, "b": None, "c": None}, weights) is None  # one figure is not an assessment: 数据不足


def test_ranks_share_ties_and_unscored_units_come_last():
    rows = [Row(u, u, {}, {}, s) for u, s in (("第10网格", 80.0), ("第9网格", 90.0), ("第2网格", 80.0), ("第11网格", None),
                                             ("第3网格", 70.0), ("第1网格", None))]
    out = ranked(rows)
    assert [(r.label, r.rank) for r in out] == [("第9网格", 1), ("第2网格", 2), ("第10网格", 2), ("第3网格", 4),
                                                ("第1网格", None), ("第11网格", None)]


def test_the_registry_has_the_indicators_the_work_is_judged_by():
    names = {i.name for i in INDICATORS}
    assert {"巡查覆盖率", "事件上报及时率", "任务按时办结率", "信息完整度", "特殊人群随访按时率", "群众满意度"} <= names
    for i in INDICATORS:
        assert i.formula and i.unit and i.period and i.weight > 0 and i.levels


# ------------------------------------------------------------------ a fixture month
@pytest.fixture(scope="module")
def fixture_db(small_world_db, tmp_path_factory):
    return write_month(small_world_db, tmp_path_factory.mktemp("assessment") / "world.sqlite")


def _sql(db: str, query: str, *args) -> dict:
    with sqlite3.connect(db) as c:
        return {k: (n or 0, d) for k, n, d in c.execute(query, args)}


def _assess(db, code=None, scope_codes=("610900",)):
    from sqlalchemy.orm import Session

    from console.services import areas
    from console.services.assessment import assess
    from console.store import AreaScope, make_engine

    engine = make_engine(db, must_exist=True)
    try:
        with Session(engine) as s:
            scope = AreaScope.of(list(scope_codes))
            node = areas.resolve(s, scope, code).node
            return assess(s, node, scope, MONTH, areas.children(s, node) if node.level != "grid" else [])
    finally:
        engine.dispose()


def test_every_area_figure_equals_direct_sql(fixture_db):
    a = _assess(fixture_db)
    got = {key: {r.unit: r.counts.get(key) for r in a.children} for key in
           ("patrol_coverage", "report_timely", "task_on_time")}
    lo, hi = MONTH.start_utc.isoformat(" "), MONTH.end_utc.isoformat(" ")
    quarter = MONTH.back(3)[0].start_utc.isoformat(" ")  # coverage counts the quarter ending with the month
    households = _sql(fixture_db, "SELECT county_code, 0, COUNT(*) FROM household GROUP BY county_code")
    visited = _sql(fixture_db, "SELECT h.county_code, COUNT(DISTINCT h.id), 0 FROM household h JOIN patrol_checkin c "
                   "ON c.household_id = h.id WHERE c.kind = 'household' AND c.at >= ? AND c.at < ? "
                   "GROUP BY h.county_code", quarter, hi)
    timely = _sql(fixture_db, "SELECT county_code, SUM((julianday(received_at) - julianday(occurred_at)) * 86400 "
                  "<= 7200.5), COUNT(*) FROM event WHERE occurred_at >= ? AND occurred_at < ? GROUP BY county_code",
                  lo, hi)
    tasks = _sql(fixture_db, "SELECT t.county_code, SUM(COALESCE((SELECT MIN(s.at) FROM field_task_step s "
                 "WHERE s.task_id = t.id AND s.to_state = 'reported') <= t.due_at, 0)), COUNT(*) FROM field_task t "
                 "WHERE t.due_at >= ? AND t.due_at < ? GROUP BY t.county_code", lo, hi)
    for county in COUNTIES:
        assert got["patrol_coverage"][county] == (visited[county][0], households[county][1])
        assert got["report_timely"][county] == timely[county]
        assert got["task_on_time"][county] == tasks[county]
        assert 0 < visited[county][0] < households[county][1]
        assert 0 < timely[county][0] < timely[county][1] and 0 < tasks[county][0] < tasks[county][1]
    other = next(r for r in a.children if r.unit not in COUNTIES)
    assert other.counts.get("report_timely") is None and other.rates["task_on_time"] is None
    n = sum(v[0] for v in visited.values())
    assert a.total.counts["patrol_coverage"] == (n, sum(v[1] for v in households.values()))


def test_workers_are_ranked_at_village_level_with_their_own_figures(fixture_db):
    with sqlite3.connect(fixture_db) as c:
        village, = c.execute("SELECT p.village_code FROM patrol p GROUP BY p.village_code ORDER BY COUNT(*) DESC "
                             "LIMIT 1").fetchone()
        expect = dict(c.execute("SELECT p.worker, COUNT(DISTINCT k.household_id) FROM patrol p JOIN patrol_checkin k "
                                "ON k.patrol_id = p.id WHERE p.village_code = ? AND k.at >= ? AND k.at < ? "
                                "GROUP BY p.worker", (village, MONTH.back(3)[0].start_utc.isoformat(" "),
                                                      MONTH.end_utc.isoformat(" "))).fetchall())
    a = _assess(fixture_db, village)
    assert a.workers and {r.unit for r in a.workers} >= set(expect)
    for r in a.workers:
        if r.unit in expect:
            assert r.counts["patrol_coverage"][0] == expect[r.unit]
    assert [r.rank for r in a.workers if r.rank] == sorted(r.rank for r in a.workers if r.rank)


def test_a_county_account_sees_only_its_county(fixture_db):
    a = _assess(fixture_db, "610900", scope_codes=(COUNTIES[1],))
    assert a.node.code == COUNTIES[1]  # asked for the city, given its own county
    all_households = _sql(fixture_db, "SELECT county_code, 0, COUNT(*) FROM household GROUP BY county_code")
    assert a.total.counts["patrol_coverage"][1] == all_households[COUNTIES[1]][1]
    assert all(r.unit.startswith(COUNTIES[1]) for r in a.children)


# ------------------------------------------------------------------ the page's callbacks, through the secured console
@pytest.fixture(scope="module")
def console(fixture_db, tmp_path_factory):
    from console.app import create_app
    from console.config import Settings as ConsoleSettings
    from console.store import make_engine, make_session_factory
    from tests.security_login import add_account, security_settings
    from tests.test_admin_pages import SECRETS

    db = str(tmp_path_factory.mktemp("assessment-console") / "world.sqlite")
    shutil.copy(fixture_db, db)
    settings = security_settings()
    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=settings)
    engine = make_engine(db, must_exist=True)
    factory = make_session_factory(engine)
    add_account(factory, "leader", ["city_leader"], ["610900"])
    add_account(factory, "hanyin", ["county"], [COUNTIES[1]])
    add_account(factory, "mediator", ["dispute_handler"], ["610900"])
    add_account(factory, "sys_adm", ["system_admin"], [], totp_secret=SECRETS["sys_adm"])
    yield app, factory, settings.clock
    engine.dispose()


def _callback(console, user, outputs, inputs, state=()):
    from tests.test_admin_pages import call, login

    console[2].advance(seconds=31)  # a new one-time code for each administrator login (a replay is refused)
    client, csrf = login(console, user)
    return call(client, csrf, outputs, inputs, state)


def _xlsx(response) -> bytes:
    import base64

    return base64.b64decode(response["as-download"]["data"]["content"])


def test_the_monthly_workbook_names_every_county_and_matches_the_page(console):
    status, out = _callback(console, "leader", [("as-download", "data")], [("as-xlsx", "n_clicks", 1)],
                            [("as-query", "data", {"area": "610900", "month": MONTH.key})])
    assert status == 200
    wb = load_workbook(io.BytesIO(_xlsx(out)))
    assert wb.sheetnames[:2] == ["汇总", "下级排名"]
    ranking = [r for r in wb["下级排名"].iter_rows(values_only=True)]
    assert ranking[0][:3] == ("排名", "地区", "综合得分") and len(ranking) == 11
    names = {r[1] for r in ranking[1:]}
    assert {"汉滨区", "汉阴县", "紫阳县"} <= names and not any(str(n).isdigit() for n in names)


def test_a_county_account_asking_for_the_city_gets_its_county_only(console):
    status, out = _callback(console, "hanyin", [("as-print-box", "srcDoc"), ("as-print-box", "style")],
                            [("as-print", "n_clicks", 1)],
                            [("as-query", "data", {"area": "610900", "month": MONTH.key}), ("as-print-box", "style", {})])
    assert status == 200
    page = out["as-print-box"]["srcDoc"]
    assert "汉阴县督导考评月报（2026年10月）" in page and "汉滨区" not in page and "安康市督导考评" not in page


@pytest.mark.parametrize("query", [None, "610900", {"area": ["x"], "month": {"y": 1}}, {"area": "'; drop", "month": 7}])
def test_forged_queries_get_an_answer_never_a_500(console, query):
    status, out = _callback(console, "leader", [("as-print-box", "srcDoc"), ("as-print-box", "style")],
                            [("as-print", "n_clicks", 1)], [("as-query", "data", query), ("as-print-box", "style", None)])
    assert status == 200 and "督导考评月报" in out["as-print-box"]["srcDoc"]


def test_a_role_without_the_assessment_cannot_export_or_print_it(console):
    for outputs, inputs in (([("as-download", "data")], [("as-xlsx", "n_clicks", 1)]),
                            ([("as-print-box", "srcDoc"), ("as-print-box", "style")], [("as-print", "n_clicks", 1)])):
        status, _ = _callback(console, "mediator", outputs, inputs,
                              [("as-query", "data", {"area": "610900"}), ("as-print-box", "style", {})][:len(outputs)])
        assert status == 403


def _save(console, user, values: dict):
    ids = [{"type": "aw-weight", "key": k} for k in values]
    return _callback(console, user, [("aw-message", "children")], [("aw-save", "n_clicks", 1)],
                     [({"type": "aw-weight", "key": "ALL"}, "value", list(values.values())),
                      ({"type": "aw-weight", "key": "ALL"}, "id", ids)])


def test_weights_are_checked_saved_and_audited_and_only_by_the_system_administrator(console):
    from sqlalchemy import select

    from console.store.patrol_models import AssessmentWeight
    from console.store.security_models import AuditLog

    _app, factory, _clock = console
    status, out = _save(console, "sys_adm", {"patrol_coverage": "abc"})
    assert status == 200 and "巡查覆盖率" in str(out) and "数字" in str(out)
    status, out = _save(console, "sys_adm", {"task_on_time": "150"})
    assert "任务按时办结率" in str(out) and "0 到 100" in str(out)
    status, out = _save(console, "sys_adm", {"patrol_coverage": "40", "task_on_time": "20"})
    assert status == 200 and "已保存" in str(out)
    with factory() as s:
        assert s.get(AssessmentWeight, "patrol_coverage").weight == 40.0
        assert s.get(AssessmentWeight, "task_on_time") is None  # unchanged: nothing stored
        row = s.scalars(select(AuditLog).where(AuditLog.action == "config.change").order_by(AuditLog.id.desc())).first()
        assert row is not None and "patrol_coverage" in row.detail and "40" in row.detail
    status, _ = _save(console, "leader", {"patrol_coverage": "100"})
    assert status == 403
    with factory() as s:
        assert s.get(AssessmentWeight, "patrol_coverage").weight == 40.0


def test_each_assessment_page_renders_for_its_role(console):
    """Every page of the feature, served as the role that opens it (a layout that fails only shows in a browser)."""
    from tests.test_admin_pages import login, render

    client, csrf = login(console, "leader")
    page = render(client, csrf, "/assessment")
    assert "督导考评 · 安康市" in page and "下级排名" in page and "巡查覆盖率" in page
    console[2].advance(seconds=31)
    client, csrf = login(console, "sys_adm")
    page = render(client, csrf, "/admin/assessment")
    assert "指标权重" in page and "aw-weight" in page and "任务按时办结率的权重" in page
