"""The dispute 台账 import through its public entry (excel.import_workbook) with files made by other tools:
sheet and header found under notes, unknown columns ignored, every missing column named, Chinese dates, duplicate
codes, formulas, header-only files, GCJ-02, GBK CSV, .xls, formatted empty tails, no row cap, one parse."""

from __future__ import annotations

import time
from datetime import date, datetime

from sqlalchemy import String, func, select, text

from console.disputes import excel
from console.store import Dispute
from geodata.planner.gcj02 import wgs84_to_gcj02
from tests import ledger_files as lf
from tests.test_disputes_fixtures import NOW, grid_point, store, tiny_template, viewer  # noqa: F401


def _preview(store, data, name="台账.xlsx", **kw):
    return excel.import_workbook(store, viewer(store), data, now=NOW, commit=False, filename=name, **kw)


def _count(store):
    with store() as s:
        return s.scalar(select(func.count()).select_from(Dispute))


def test_ledger_on_second_sheet_under_notes_with_extra_columns_and_styled_tail(store, grid_point):
    lon, lat, grid = grid_point
    data = lf.openpyxl_ledger([lf.row(lon, lat, i) for i in range(3)], styled_row=1_000_000)
    _preview(store, lf.openpyxl_ledger([lf.row(lon, lat)], front_sheet=False))  # the grid index is built once
    t = time.perf_counter()
    report = _preview(store, data)
    assert time.perf_counter() - t < 3
    assert report.file_error is None, report.file_error
    assert len(report.accepted) == 3 and report.rejected == []
    assert report.sheet == "台账" and report.header_row == 4
    assert any("已忽略：序号、备注、登记人" in n for n in report.notices)
    assert report.accepted[0]["where"]["grid_code"] == grid


def test_two_row_header_merged_cells(store, grid_point):
    lon, lat, _ = grid_point
    data = lf.openpyxl_ledger([lf.row(lon, lat, i) for i in range(2)], two_row_header=True)
    report = _preview(store, data)
    assert report.file_error is None, report.file_error
    assert len(report.accepted) == 2 and report.header_row == 5


def test_missing_columns_are_all_named(store):
    headers = [h for h in lf.HEADERS if h not in ("经度", "纬度", "当事人")]
    data = lf.openpyxl_ledger([lf.row(1, 2)], headers=headers, notes=("说明一", "说明二", "说明三", "说明四"))
    report = _preview(store, data)
    assert report.file_error.startswith("缺少必填列：经度、纬度、当事人（表头在工作表“台账”第6行）")


def test_chinese_and_serial_dates_accepted_ambiguous_refused_by_row(store, grid_point):
    lon, lat, _ = grid_point
    forms = ["2025年11月3日", "2025-11-03 14:30", "2025/11/3", "2025.11.03", 45964, "20251103", "03/11/2025",
             "25-11-03", "11月3日"]
    data = lf.openpyxl_ledger([lf.row(lon, lat, i, 发生日期=f) for i, f in enumerate(forms)], seq=False, extra=())
    report = _preview(store, data)
    assert [r["occurred_on"] for r in report.accepted] == [date(2025, 11, 3)] * 6
    reasons = dict(report.rejected)
    assert sorted(reasons) == [11, 12, 13]
    assert "“03/11/2025”日、月顺序不明确" in reasons[11] and "缺少年份" in reasons[13]


def test_excel_date_cells_and_datetime_registration(store, grid_point):
    lon, lat, _ = grid_point
    data = lf.xlsxwriter_ledger([lf.row(lon, lat, 1, 发生日期="2025-11-03", 登记时间="2025年11月4日 8时30分")])
    report = _preview(store, data)
    assert report.rejected == [] and report.accepted[0]["occurred_on"] == date(2025, 11, 3)
    assert report.accepted[0]["registered_at"] == datetime(2025, 11, 4, 8, 30)


def test_duplicate_codes_name_every_row(store, grid_point):
    lon, lat, _ = grid_point
    code = "JF610924202511030007"
    rows = [lf.row(lon, lat, i, 案件编号=code if i in (0, 2, 3) else None) for i in range(4)]
    report = _preview(store, lf.openpyxl_ledger(rows))
    reasons = dict(report.rejected)
    assert sorted(reasons) == [5, 7, 8] and len(report.accepted) == 1
    assert all(f"案件编号{code}在本文件第5、7、8行重复" in reasons[n] for n in (5, 7, 8))


def test_formula_cells_named_and_not_read(store, grid_point):
    lon, lat, _ = grid_point
    data = lf.openpyxl_ledger([lf.row(lon, lat, i) for i in range(2)], formulas={"涉及人数": "=1+2", "备注": "=A{row}"})
    report = _preview(store, data)
    reasons = dict(report.rejected)
    assert sorted(reasons) == [5, 6]
    assert "J5（涉及人数）为公式，公式不读取" in reasons[5]
    assert any("4个公式单元格，公式不读取" in n for n in report.notices)


def test_headers_without_data_rows_said_so(store):
    report = _preview(store, lf.openpyxl_ledger([], styled_row=5000))
    assert report.file_error == "工作表“台账”第4行有表头，但下面没有数据行"


def test_gcj02_coordinates_get_a_choice(store, grid_point):
    lon, lat, grid = grid_point
    glon, glat = wgs84_to_gcj02(lon, lat)
    headers = [h if h not in ("经度", "纬度") else f"{h}(高德)" for h in lf.HEADERS]
    rows = [{(k if k not in ("经度", "纬度") else f"{k}(高德)"): v
             for k, v in lf.row(round(glon, 6), round(glat, 6), 1).items()}]
    data = lf.openpyxl_ledger(rows, headers=headers)
    plain = _preview(store, data)
    assert plain.crs == "wgs84" and "高德" in (plain.crs_hint or "")
    converted = _preview(store, data, crs="gcj02")
    assert converted.rejected == [] and converted.accepted[0]["where"]["grid_code"] == grid
    assert abs(converted.accepted[0]["lon"] - lon) < 2e-6 and abs(converted.accepted[0]["lat"] - lat) < 2e-6


def test_gbk_csv_and_xls(store, grid_point):
    lon, lat, _ = grid_point
    rows = [lf.row(lon, lat, i, 发生日期="2025年11月3日") for i in range(3)]
    csv_report = _preview(store, lf.gbk_csv(rows), name="台账.csv")
    assert csv_report.file_error is None and len(csv_report.accepted) == 3, csv_report.rejected
    assert any("GBK" in n for n in csv_report.notices) and any("已忽略：备注" in n for n in csv_report.notices)
    xls_report = _preview(store, lf.xls_ledger(rows), name="台账.xls")
    assert xls_report.file_error is None and len(xls_report.accepted) == 3, xls_report.rejected


def test_ambiguous_sheets_ask_then_import_the_chosen_one(store, grid_point):
    from openpyxl import load_workbook
    import io

    lon, lat, _ = grid_point
    wb = load_workbook(io.BytesIO(lf.openpyxl_ledger([lf.row(lon, lat, 1)])))
    copy = wb.copy_worksheet(wb["台账"])
    copy.title = "台账(2)"
    out = io.BytesIO()
    wb.save(out)
    asked = _preview(store, out.getvalue())
    assert "请选择要导入的工作表" in asked.file_error and asked.sheets == ["台账", "台账(2)"]
    chosen = _preview(store, out.getvalue(), sheet="台账(2)")
    assert chosen.file_error is None and len(chosen.accepted) == 1


def test_wps_like_formatted_tail_is_cheap(store, grid_point):
    lon, lat, _ = grid_point
    data = lf.wps_like_tail(lf.openpyxl_ledger([lf.row(lon, lat, i) for i in range(2)]), 300_000)
    _preview(store, lf.openpyxl_ledger([lf.row(lon, lat)], front_sheet=False))  # the grid index is built once
    t = time.perf_counter()
    report = _preview(store, data)
    assert time.perf_counter() - t < 10  # ~1 s idle; a loaded shared box gets slack (old main: 27 s)
    assert len(report.accepted) == 2 and report.rejected == []


def test_more_than_5000_rows_import_and_the_file_is_parsed_once(store, grid_point, monkeypatch):
    from console.disputes import ledger_import

    lon, lat, _ = grid_point
    calls = []
    real = ledger_import.read_ledger
    monkeypatch.setattr(ledger_import, "read_ledger", lambda *a, **k: calls.append(1) or real(*a, **k))
    data = lf.openpyxl_ledger(lf.many(lon, lat, 6000), front_sheet=False, seq=False, extra=(), notes=())
    before = _count(store)
    preview = _preview(store, data)
    assert len(preview.accepted) == 6000 and preview.rejected == []
    saved = excel.import_workbook(store, viewer(store), data, now=NOW, filename="台账.xlsx")
    assert saved.saved == 6000 and _count(store) == before + 6000
    assert len(calls) == 1
    # identity numbers went in sealed (bulk), and are found through the blind index
    from console.store import DisputeParty
    from console.store.sensitive import id_number_match

    with store() as s:
        raw = s.execute(select(func.min(DisputeParty.__table__.c.id_number.cast(String)))).scalar()
        found = s.scalars(select(DisputeParty).where(id_number_match(DisputeParty.id_number_bidx,
                                                                     lf.ident(5999)))).all()
    assert raw.startswith(("aes1:", "sm41:")) and lf.ident(5999) in {p.id_number for p in found}


def test_save_reuses_the_preview_check_but_sees_codes_taken_since(store, grid_point, monkeypatch):
    from console.disputes import ledger_check

    lon, lat, _ = grid_point
    rows = [lf.row(lon, lat, i, 案件编号=f"JF61092420251103{i + 1:04d}") for i in range(3)]
    data = lf.openpyxl_ledger(rows)
    assert len(_preview(store, data).accepted) == 3
    calls = []
    real = ledger_check.check
    monkeypatch.setattr("console.disputes.ledger_import.check", lambda *a, **k: calls.append(1) or real(*a, **k))
    other = lf.openpyxl_ledger([rows[1]])  # someone saves row 2's case in between
    assert excel.import_workbook(store, viewer(store), other, now=NOW, filename="b.xlsx").saved == 1
    calls.clear()
    saved = excel.import_workbook(store, viewer(store), data, now=NOW, filename="台账.xlsx", sheet="台账")
    assert calls == [] and saved.saved == 2  # the page names the sheet the preview found
    assert saved.rejected == [(6, "案件编号已存在：JF610924202511030002")]


def test_an_import_that_fails_mid_save_leaves_nothing(store, grid_point):
    """The store refuses the history rows after the cases and parties went in: no case is left behind."""
    import pytest

    lon, lat, _grid = grid_point
    data = lf.openpyxl_ledger(lf.many(lon, lat, 30))
    before = _count(store)
    with store() as s, s.begin():
        s.execute(text("CREATE TRIGGER refuse_step BEFORE INSERT ON dispute_event "
                       "BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    with pytest.raises(Exception, match="disk full"):
        excel.import_workbook(store, viewer(store), data, now=NOW, commit=True, filename="台账.xlsx")
    assert _count(store) == before
    with store() as s, s.begin():
        s.execute(text("DROP TRIGGER refuse_step"))
    assert excel.import_workbook(store, viewer(store), data, now=NOW, commit=True, filename="台账.xlsx").saved == 30
