"""统计研判: pure aggregation, scoped reads, 零报告, 月报 outputs."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

from openpyxl import load_workbook

from console.disputes import report, service, stats
from console.store import AreaScope
from tests.test_disputes_fixtures import NOW, case_form, grid_point, store, tiny_template, viewer  # noqa: F401

T = datetime(2026, 10, 1, 8)


def test_summarise_pure():
    rows = [("family", "610924", T, T + timedelta(days=2), T + timedelta(days=7), "archived", True),
            ("family", "610925", T, T + timedelta(days=10), T + timedelta(days=7), "referred", False),
            ("land", "610924", T + timedelta(days=40), None, T + timedelta(days=41), "mediating", None),
            ("land", "610924", T + timedelta(days=40), None, T + timedelta(days=60), "assigned", None)]
    s = stats.summarise(rows, T + timedelta(days=45))
    assert (s["total"], s["closed"], s["resolved"], s["overdue_open"]) == (4, 2, 1, 1)
    assert s["resolution_rate"] == 0.5 and s["avg_handling_days"] == 6.0 and s["overdue_rate"] == 0.5
    assert s["by_category"] == {"family": 2, "land": 2} and s["cross"]["land|610924"] == 2
    assert s["by_month"] == {"2026-10": {"family": 2}, "2026-11": {"land": 2}}
    assert stats.summarise([], T)["resolution_rate"] is None


def test_period_month():
    p = stats.Period.month(2026, 12)
    assert (p.since, p.until) == (date(2026, 12, 1), date(2026, 12, 31))
    assert stats.Period.month(2026, 2).until == date(2026, 2, 28)


def test_scoped_statistics_and_zero_report(store, grid_point):
    v = viewer(store)
    r = service.register(store, v, case_form(*grid_point[:2]), now=NOW)
    assert r.ok
    period = stats.Period(date(2026, 11, 26), date(2026, 11, 26))
    with store() as s:
        mine = stats.statistics(s, AreaScope.of(["610924"]), period, NOW)
        other = stats.statistics(s, AreaScope.of(["610925"]), period, NOW)
        town = stats.statistics(s, AreaScope.of(["610924"]), period, NOW, area=grid_point[2][:9])
        zero = stats.zero_report(s, AreaScope.of(["610924"]), period)
        spots = stats.hot_spots(s, AreaScope.of(["610924"]), period, min_count=1)
        names = stats.area_names(s, mine["by_area"])
    assert mine["total"] == 1 and other["total"] == 0
    assert list(town["by_area"]) == [grid_point[2][:12]]
    assert grid_point[2][:12] not in {z["code"] for z in zero} and zero and all(z["code"].startswith("610924")
                                                                                  for z in zero)
    assert spots[0]["grid"] == grid_point[2]
    data = report.workbook("月报", period.label, mine, names, zero, "水印")
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["月报", "分地区", "类别×地区", "零报告"] and wb["月报"]["A1"].value == "月报"
    page = report.printable("月报<x>", period.label, mine, names, zero, "水印")
    assert "&lt;x&gt;" in page and "零报告" in page and "window.print" in page
