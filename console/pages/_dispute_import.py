"""The 台账 import on the dispute page: upload → preview (sheet and coordinate-system choices, notices, refused rows)
→ save. The file is parsed once (console/ledgers/cache.py); changing the sheet or the coordinate system re-checks
without re-reading. Limits and messages: docs/disputes.md."""

from __future__ import annotations

from datetime import datetime

import flask
from dash import Input, Output, State, ctx, dcc, html

from console.disputes import excel, ui
from console.disputes.ledger_check import CRS_GCJ02, CRS_OPTIONS, CRS_WGS84, SPEC
from console.ledgers.reader import FORMATS
from console.pages._upload import decode_upload
from console.security.config import Settings
from console.security.guard import AccessDenied
from console.services import viewer as viewers
from console.services.context import current_context

SHOWN_REFUSALS = 200


def upload_limit() -> int:
    """Bytes of the largest file: the upload travels base64-encoded (4/3) in one request, which the security gate
    caps (`max_request_bytes`, 8 MB by default → files up to about 6 MB, some 75,000 台账 rows as .xlsx)."""
    try:
        cap = flask.current_app.config.get("MAX_CONTENT_LENGTH")
    except RuntimeError:  # outside a request (tests, tools)
        cap = None
    cap = cap or Settings().max_request_bytes
    return (cap - 64 * 1024) * 3 // 4


def limits_text() -> str:
    return (f"支持 {FORMATS}（CSV 为 UTF-8 或 GBK 编码）；文件不超过{upload_limit() / 1024 / 1024:.1f} MB，"
            f"单次最多导入{SPEC.max_rows:,}行；公式不读取")


class ID:
    UPLOAD, DATA, REPORT, SAVE = "dl-upload", "dl-upload-data", "dl-import-report", "dl-import-save"
    OPTIONS, SHEET, CRS = "dl-import-options", "dl-import-sheet", "dl-import-crs"


def upload_button():
    return dcc.Upload(id=ID.UPLOAD, children=html.Button("导入台账", style=ui.BUTTON_LIGHT, title=limits_text()),
                      accept=".xlsx,.xlsm,.xls,.ods,.csv", max_size=upload_limit())


def panel():
    hidden = {**ui.ROW, "display": "none"}
    return html.Div([
        dcc.Store(id=ID.DATA),
        html.Div(id=ID.OPTIONS, style=hidden, children=[
            html.Span("工作表", style=ui.LABEL),
            dcc.Dropdown(id=ID.SHEET, options=[], placeholder="请选择工作表", clearable=False, style={"width": "12rem"}),
            html.Span("坐标系", style=ui.LABEL),
            dcc.RadioItems(id=ID.CRS, value=CRS_WGS84, inline=True,
                           options=[{"label": f" {v}　", "value": k} for k, v in CRS_OPTIONS.items()]),
        ]),
        html.Div(id=ID.REPORT),
        html.Button("保存可导入行", id=ID.SAVE, n_clicks=0, style={**ui.BUTTON, "display": "none"}),
    ])


def render(report, *, committed: bool) -> html.Div:
    """The check (or save) result as the user reads it: summary, notices, GCJ-02 hint, refused rows."""
    head = "导入结果：" if committed else "导入检查："
    parts = [html.B(head + report.summary, style=ui.ERROR if report.file_error else None)]
    if not report.file_error:
        parts.append(html.Div(limits_text(), style=ui.LABEL))
    if report.notices:
        parts.append(html.Ul([html.Li(n) for n in report.notices]))
    if report.crs_hint and report.crs == CRS_WGS84:
        parts.append(html.Div(f"{report.crs_hint}：如坐标来自高德/腾讯地图，请在上方把坐标系改为 GCJ-02 后再检查。",
                              style=ui.ERROR))
    refused = [html.Li(f"第{n}行：{why}") for n, why in report.rejected[:SHOWN_REFUSALS]]
    if len(report.rejected) > SHOWN_REFUSALS:
        refused.append(html.Li(f"……另有{len(report.rejected) - SHOWN_REFUSALS}行被拒绝，未逐行列出"))
    if refused:
        parts.append(html.Ul(refused, style=ui.ERROR))
    return html.Div(parts, style=ui.PANEL)




def register(app) -> None:
    """Wire the import callback into `app`. A helper module is imported once per process, so a module-level
    @callback would reach only the first app created (tests and a second window make several): the app
    registers it itself, like console/pages/_unmask.py."""
    app.callback(Output(ID.DATA, "data"), Output(ID.REPORT, "children"), Output(ID.SAVE, "style"),
                 Output(ID.OPTIONS, "style"), Output(ID.SHEET, "options"), Output(ID.SHEET, "value"),
                 Output(ID.CRS, "value"),
                 Input(ID.UPLOAD, "contents"), Input(ID.SAVE, "n_clicks"), Input(ID.SHEET, "value"),
                 Input(ID.CRS, "value"), State(ID.UPLOAD, "filename"), State(ID.DATA, "data"),
                 prevent_initial_call=True)(import_ledger)


def import_ledger(contents, _save, sheet, crs, filename, stored):
    hidden, options_hidden = {**ui.BUTTON, "display": "none"}, {**ui.ROW, "display": "none"}
    trigger = ctx.triggered_id
    if trigger == ID.UPLOAD:  # a new file: forget the choices made for the previous one
        stored, sheet, crs = {"contents": contents, "name": filename}, None, CRS_WGS84
    crs = crs if crs in (CRS_WGS84, CRS_GCJ02) else CRS_WGS84
    decoded = decode_upload(stored)
    if decoded is None:
        return None, html.Div("请重新选择文件" if stored else "", style=ui.ERROR), hidden, options_hidden, [], None, crs
    data, name = decoded
    commit = trigger == ID.SAVE
    try:
        report = excel.import_workbook(current_context().sessions, viewers.current_viewer(), data,
                                       now=datetime.now(), commit=commit, filename=name, sheet=sheet, crs=crs)
    except AccessDenied as exc:
        return None, html.Div(f"无法导入：{exc}", style=ui.ERROR), hidden, options_hidden, [], None, crs
    sheets = report.sheets or ([report.sheet] if report.sheet and report.sheet != "CSV" else [])
    can_save = not commit and not report.file_error and bool(report.accepted)
    show_options = {**ui.ROW} if sheets or report.accepted or report.rejected else options_hidden
    return (None if commit else stored), render(report, committed=commit), ({**ui.BUTTON} if can_save else hidden), \
        show_options, [{"label": s, "value": s} for s in sheets], (sheet or report.sheet), crs
