"""台账 files made the way other tools make them (openpyxl, xlsxwriter, xlwt, a WPS-like hand-written package, a GBK
CSV from Excel's 另存为), for the ledger import tests and benchmarks/bad_input.py. Never our own exporter."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from openpyxl import Workbook
from openpyxl.styles import Border, Font, PatternFill, Side

from console.store.identity import id_check_char

HEADERS = ["案件编号", "事件名称", "纠纷类别", "发生日期", "登记时间", "发生地点", "经度", "纬度", "涉及人数", "风险等级",
           "事件简述", "当事人", "办理状态"]


def ident(seq: int) -> str:
    first = f"610924198001{1 + seq % 28:02d}{seq % 1000:03d}"
    return first + id_check_char(first)


def row(lon: float, lat: float, n: int = 0, **over) -> dict:
    """One ledger row as a user types it (header → value)."""
    base = {"案件编号": None, "事件名称": f"土地边界纠纷{n}", "纠纷类别": "山林土地", "发生日期": "2026-11-20",
            "登记时间": None, "发生地点": f"二组{n}号", "经度": lon, "纬度": lat, "涉及人数": 3, "风险等级": "低",
            "事件简述": "地界争议", "当事人": f"申请人:王五:{ident(n)}；被申请人:赵六:{ident(n + 1)}", "办理状态": None}
    base.update(over)
    return base


def many(lon: float, lat: float, n: int, *, start: datetime = datetime(2024, 11, 1, 9)) -> list[dict]:
    """n distinct rows, half with their own case codes, registration times 20 minutes apart (50,000 in 2 years)."""
    out = []
    for i in range(n):
        reg = start + timedelta(minutes=20 * i)
        code = f"JF610924{reg:%Y%m%d}{(i % 9000) + 1:04d}" if i % 2 else None
        out.append(row(lon + (i % 7) * 1e-6, lat, i, 案件编号=code, 登记时间=reg.strftime("%Y-%m-%d %H:%M"),
                       发生日期=(reg - timedelta(days=1)).strftime("%Y年%m月%d日").replace("年0", "年").replace("月0", "月")))
    return out


def _cells(r: dict, headers: Sequence[str]) -> list:
    return [r.get(h) for h in headers]


def openpyxl_ledger(rows: Iterable[dict], *, headers: Sequence[str] = HEADERS, sheet: str = "台账",
                    notes: Sequence[str] = ("填报说明：红色为必填项", "填报单位：（盖章）"), seq: bool = True,
                    extra: Sequence[str] = ("备注", "登记人"), two_row_header: bool = False, front_sheet: bool = True,
                    styled_row: int | None = None, formulas: dict[str, str] | None = None) -> bytes:
    """An openpyxl workbook as offices make them: a 填报说明 sheet first, the ledger on `sheet` with a merged title,
    notes rows above the header, a 序号 column, 备注/登记人 columns, optional group header merged over two rows,
    formulas (header → formula, on every data row), a style on `styled_row` (a formatted empty tail)."""
    wb = Workbook()
    if front_sheet:
        wb.active.title = "填报说明"
        wb.active.append(["本表由各村（社区）网格员填写，每月5日前报送。"])
        ws = wb.create_sheet(sheet)
    else:
        ws = wb.active
        ws.title = sheet
    cols = (["序号"] if seq else []) + list(headers) + list(extra)
    ws.append(["安康市矛盾纠纷排查化解工作台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cols))
    ws["A1"].font = Font(bold=True, size=16)
    for note in notes:
        ws.append([note])
    if two_row_header:  # 序号 merged over both header rows, a 基本信息 group above the first columns
        top = ws.max_row + 1
        ws.append(["序号" if seq else None, "基本信息"])
        ws.merge_cells(start_row=top, start_column=2, end_row=top, end_column=5)
        if seq:
            ws.merge_cells(start_row=top, start_column=1, end_row=top + 1, end_column=1)
        ws.append([None if seq else h for h in cols[:1]] + cols[1:])
    else:
        ws.append(cols)
    thin = Side(style="thin")
    for c in ws[ws.max_row]:
        c.font, c.border = Font(bold=True), Border(top=thin, bottom=thin, left=thin, right=thin)
    for i, r in enumerate(rows, 1):
        n = ws.max_row + 1
        values = ([i] if seq else []) + _cells(r, headers) + ["" for _ in extra]
        for h, f in (formulas or {}).items():
            values[cols.index(h)] = f.format(row=n)
        ws.append(values)
    if styled_row:
        ws.cell(styled_row, 1).fill = PatternFill("solid", fgColor="FFFF00")
        ws.cell(styled_row, len(cols)).border = Border(bottom=thin)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsxwriter_ledger(rows: Iterable[dict], *, headers: Sequence[str] = HEADERS, date_cells: bool = True) -> bytes:
    """Excel-like: shared strings, real date cells with a date format, the header on row 2 under a title."""
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet("纠纷台账")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.merge_range(0, 0, 0, len(headers) - 1, "矛盾纠纷台账")
    ws.write_row(1, 0, headers)
    for i, r in enumerate(rows, 2):
        for j, h in enumerate(headers):
            v = r.get(h)
            if date_cells and h == "发生日期" and isinstance(v, str) and v[:4].isdigit() and "-" in v:
                ws.write_datetime(i, j, datetime.strptime(v, "%Y-%m-%d"), day)
            elif v is not None:
                ws.write(i, j, v)
    wb.close()
    return out.getvalue()


def xls_ledger(rows: Iterable[dict], *, headers: Sequence[str] = HEADERS) -> bytes:
    """An Excel 97–2003 .xls (old WPS default), written by xlwt."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("台账")
    ws.write(0, 0, "矛盾纠纷台账")
    for j, h in enumerate(headers):
        ws.write(1, j, h)
    for i, r in enumerate(rows, 2):
        for j, h in enumerate(headers):
            if r.get(h) is not None:
                ws.write(i, j, r[h])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def gbk_csv(rows: Iterable[dict], *, headers: Sequence[str] = HEADERS, extra: Sequence[str] = ("备注",)) -> bytes:
    """Excel's 另存为 CSV on a Chinese Windows: GBK, CRLF."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\r\n")
    w.writerow([*headers, *extra])
    for r in rows:
        w.writerow([*("" if r.get(h) is None else r[h] for h in headers), *("" for _ in extra)])
    w.writerows([[""] * (len(headers) + len(extra))] * 50)  # a blank tail of separators
    return text.getvalue().encode("gbk")


def wps_like_tail(data: bytes, tail_rows: int, *, sheet_xml: str | None = None) -> bytes:
    """The workbook with a formatted empty tail as WPS writes it for rows given a format and a height: one styled,
    empty `<row>` per row down to `tail_rows` (the ledger sheet: the last one), and a dimension claiming all of it."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        names = zin.namelist()
        target = sheet_xml or max(n for n in names if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                body = zin.read(info.filename)
                if info.filename == target:
                    xml = body.decode("utf-8")
                    last = xml.rfind('<row r="')
                    start = int(xml[last + 8:xml.index('"', last + 8)]) + 1
                    tail = "".join(f'<row r="{n}" spans="1:16" s="1" customFormat="1" ht="20" customHeight="1">'
                                   f'<c r="A{n}" s="1"/></row>' for n in range(start, tail_rows + 1))
                    xml = xml.replace("</sheetData>", tail + "</sheetData>", 1)
                    if "<dimension " in xml:
                        d = xml.index("<dimension ")
                        xml = xml[:d] + f'<dimension ref="A1:P{tail_rows}"/>' + xml[xml.index("/>", d) + 2:]
                    body = xml.encode("utf-8")
                zout.writestr(info, body)
    return out.getvalue()
