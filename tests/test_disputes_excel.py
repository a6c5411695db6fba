"""Excel 台账: export → import round trip, and per-row rejection of bad files and rows (nothing half-saved)."""

from __future__ import annotations

import io
import shutil
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from console.disputes import excel, ledger, service
from console.store import Dispute, make_engine, make_session_factory
from console.store.security_models import AuditLog
from tests.test_disputes_fixtures import NOW, case_form, grid_point, ident, store, tiny_template, viewer  # noqa: F401

CASE_FIELDS = ("code", "title", "category", "occurred_on", "registered_at", "place", "lon", "lat", "grid_code",
               "scale", "risk_grade", "complexity", "description", "state", "handling_level", "department",
               "handler", "deadline", "outcome")


def _snapshot(factory, conds=()):
    with factory() as s:
        cases = s.scalars(select(Dispute).where(*conds).order_by(Dispute.code)).all()
        return [{f: getattr(c, f) for f in CASE_FIELDS} for c in cases]


def _seed(store, grid_point, n=3):
    v = viewer(store)
    codes = []
    for i in range(n):
        r = service.register(store, v, case_form(*grid_point[:2], title=f"纠纷{i}", category=("neighbour", "land",
                             "family")[i % 3], parties=[{"name": f"当事人{i}", "id_number": ident(seq=f"{i:03d}")}]),
                             now=NOW + timedelta(hours=i))
        assert r.ok, r.message
        codes.append(r.code)
    with store() as s:
        first_id = s.scalar(select(Dispute.id).where(Dispute.code == codes[0]))
    assert service.transition(store, v, first_id, "accept", {}, now=NOW).ok
    return v, codes, first_id


def _workbook(rows, headers=excel.HEADERS, title=True):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([excel.TITLE])
        ws.append(["水印"])
    ws.append(list(headers))
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), wb


def test_round_trip(store, grid_point, tmp_path, tiny_template):
    v, codes, _ = _seed(store, grid_point)
    conds = [Dispute.code.in_(codes)]
    with store() as s:
        name, data = excel.export(s, v, conds, unmask=True, when=NOW)
    assert name.endswith(".xlsx")
    # a fresh copy of the world without these cases receives the file
    target = tmp_path / "other.sqlite"
    shutil.copy(tiny_template, target)
    engine = make_engine(str(target), must_exist=True)
    other = make_session_factory(engine)
    report = excel.import_workbook(other, viewer(other), data, now=NOW + timedelta(days=1))
    assert report.rejected == [] and report.saved == 3, report.rejected
    got, want = _snapshot(other, conds), _snapshot(store, conds)
    assert [{k: (a[k], b[k]) for k in a if a[k] != b[k]} for a, b in zip(got, want)] == [{}] * 3
    with other() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "dispute.import")) == 1
    engine.dispose()


def test_default_export_masks_and_watermarks(store, grid_point):
    v, codes, _ = _seed(store, grid_point, 1)
    with store() as s:
        _, data = excel.export(s, v, ledger.where(v.scope, ledger.Filters(text=codes[0]), NOW), when=NOW)
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == excel.TITLE and "导出人" in ws["A2"].value
    parties = ws.cell(4, excel.HEADERS.index("当事人") + 1).value
    assert "********" in parties and ident(seq="000") not in parties
    # re-importing a masked export is refused per row with a clear reason
    report = excel.import_workbook(store, v, data, now=NOW, commit=False)
    assert report.accepted == [] and "已脱敏" in report.rejected[0][1]


def test_wrong_columns_rejects_file(store):
    data, _ = _workbook([["x"]], headers=["事件名称", "类别"])
    report = excel.import_workbook(store, viewer(store), data, now=NOW)
    assert report.file_error.startswith("缺少必填列：纠纷类别、发生日期、发生地点、经度、纬度、涉及人数、事件简述、当事人")
    assert "不属于模板：类别" in report.file_error
    report = excel.import_workbook(store, viewer(store), b"not a workbook", now=NOW)
    assert report.file_error.startswith("文件不是有效的Excel工作簿（.xlsx）")


def _row(lon, lat, **over):
    base = {"title": "土地边界纠纷", "category": "山林土地", "occurred_on": "2026-11-20", "place": "二组", "lon": lon,
            "lat": lat, "scale": 3, "description": "地界争议", "parties": f"申请人:王五:{ident(seq='777')}",
            "risk_grade": "低"}
    base.update(over)
    return [base.get(f, None) for f, _ in excel.COLUMNS]


def test_bad_rows_reported_good_rows_saved_together(store, grid_point):
    lon, lat, _ = grid_point
    rows = [_row(lon, lat), _row(lon, lat, parties="申请人:赵六:610924198001011231"),
            _row(lon, lat, occurred_on="2030-01-01"), _row(lon, lat, category="外星纠纷"),
            _row(lon, lat, title="合并"), _row(130, 32), _row(lon, lat, place="å®‰åº·å¸‚"),
            _row(lon, lat, title="第二条好行", parties=f"被申请人:钱七:{ident(seq='888')}")]
    data, wb = _workbook(rows)
    ws = wb.active
    ws.merge_cells("B8:C8")
    out = io.BytesIO()
    wb.save(out)
    before = _snapshot(store)
    report = excel.import_workbook(store, viewer(store), out.getvalue(), now=NOW)
    reasons = dict(report.rejected)
    assert report.saved == 2 and sorted(reasons) == [5, 6, 7, 8, 9, 10]
    assert "校验位" in reasons[5] and "晚于今天" in reasons[6] and "未知的纠纷类别" in reasons[7]
    assert "合并单元格" in reasons[8] and "安康市范围" in reasons[9] and "乱码" in reasons[10]
    assert len(_snapshot(store)) == len(before) + 2


def test_nothing_saved_when_transaction_fails(store, grid_point, monkeypatch):
    from console.disputes import ledger_import

    lon, lat, _ = grid_point
    data, _ = _workbook([_row(lon, lat), _row(lon, lat, title="二")])
    before = len(_snapshot(store))
    calls = {"n": 0}
    real = ledger_import.id_number_index

    def flaky(value):  # fails after the cases are inserted, halfway through the parties
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("磁盘已满")
        return real(value)

    monkeypatch.setattr(ledger_import, "id_number_index", flaky)
    try:
        excel.import_workbook(store, viewer(store), data, now=NOW)
    except RuntimeError:
        pass
    assert calls["n"] == 2 and len(_snapshot(store)) == before


def test_scope_rejects_rows(store, grid_point):
    lon, lat, _ = grid_point
    data, _ = _workbook([_row(lon, lat)])
    report = excel.import_workbook(store, viewer(store, scope=("610924100200",)), data, now=NOW, commit=False)
    assert grid_point[2].startswith("610924100200") or "管辖范围" in report.rejected[0][1]
