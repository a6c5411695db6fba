"""审计: the audit administrator's page — search the audit log, verify the hash chain, export (watermarked).

Only 审计管理员 (`audit:read`). Every callback checks the permission on the server through `guard.require`
(refusals are audited by guard); hiding the form for other roles is only a courtesy. Thin callbacks over
`console.security.audit` (search / export / verify)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, dcc, html

from console.pages._grid_locale import GRID_LOCALE
from console.disputes import ui
from console.security import audit, guard
from console.security.audit_actions import RESULT_LABELS, SHOWN_IN_WORDS, cell_text, filter_options
from console.security.guard import AccessDenied
from console.security.permissions import AUDIT_READ
from console.services import viewer as viewers
from console.services.context import current_context

dash.register_page(__name__, path="/admin/audit", title="平安一张图 · 审计", name="审计")

PAGE_LIMIT = 500
RESULTS = (("", "全部结果"), *RESULT_LABELS.items())
EXPORT_FORMATS = (("csv", "CSV"), ("json", "JSON"), ("xlsx", "Excel"))


class ID:
    DATES, ACTOR, ACTION, RESULT, TEXT = "aud-dates", "aud-actor", "aud-action", "aud-result", "aud-text"
    SEARCH, VERIFY, EXPORT, FORMAT, DOWNLOAD = "aud-search", "aud-verify", "aud-export", "aud-format", "aud-download"
    STATUS, VERIFY_OUT, EXPORT_OUT, GRID = "aud-status", "aud-verify-out", "aud-export-out", "aud-grid"


# Roles, action and result are shown in words (`<column>_label`); the keys stay in the row data (the action's
# key is its cell's tooltip).
COLUMN_DEFS = [{"field": f"{c}_label" if c in SHOWN_IN_WORDS else c, "headerName": audit.COLUMN_LABELS[c],
                **({"width": 80} if c == "id" else {"width": 170} if c == "at" else {}),
                **({"minWidth": 220, "tooltipField": "action"} if c == "action" else {}),
                **({"flex": 1, "minWidth": 260, "tooltipField": "detail"} if c == "detail" else {})}
               for c in audit.COLUMNS]


def layout(**_query):
    viewer = viewers.current_viewer()
    if not viewer.can(AUDIT_READ):  # a courtesy only: every callback below checks on the server
        return html.Div([html.H2("审计日志"), html.P(guard.DENIED_MESSAGE, style=ui.ERROR)])
    today = date.today()
    return html.Div([
        dcc.Download(id=ID.DOWNLOAD),
        html.H2("审计日志", style={"margin": ".2rem 0"}),
        html.Div(style=ui.ROW, children=[
            dcc.DatePickerRange(id=ID.DATES, display_format="YYYY-MM-DD",
                                start_date=(today - timedelta(days=30)).isoformat(), end_date=today.isoformat()),
            dcc.Input(id=ID.ACTOR, placeholder="用户（精确）", style={**ui.INPUT, "width": "9rem"}),
            dcc.Dropdown(id=ID.ACTION, options=filter_options(), placeholder="全部操作", searchable=True,
                         style={"width": "14rem"}),
            dcc.Dropdown(id=ID.RESULT, options=[{"label": l, "value": v} for v, l in RESULTS], value="",
                         clearable=False, style={"width": "10rem"}),
            dcc.Input(id=ID.TEXT, placeholder="对象/详情/地址包含", style={**ui.INPUT, "width": "11rem"}),
            html.Button("查询", id=ID.SEARCH, n_clicks=0, style=ui.BUTTON),
            html.Button("校验审计链", id=ID.VERIFY, n_clicks=0, style=ui.BUTTON_LIGHT),
            dcc.Dropdown(id=ID.FORMAT, options=[{"label": l, "value": v} for v, l in EXPORT_FORMATS], value="csv",
                         clearable=False, style={"width": "6rem"}),
            html.Button("导出（带水印）", id=ID.EXPORT, n_clicks=0, style=ui.BUTTON_LIGHT),
        ]),
        html.Div("时间按 UTC 计，结束日期当天包含在内。", style=ui.LABEL),
        html.Div(id=ID.STATUS),
        html.Div(id=ID.VERIFY_OUT),
        html.Div(id=ID.EXPORT_OUT),
        dag.AgGrid(id=ID.GRID, rowData=[], columnDefs=COLUMN_DEFS, style={"height": "32rem"},
                   dashGridOptions={"localeText": GRID_LOCALE}, defaultColDef={"sortable": True, "resizable": True, "filter": True}),
    ])


def _viewer(obj: str):
    """The logged-in viewer, after the server-side permission check (refusal raises and is audited)."""
    viewer = viewers.current_viewer()
    guard.require(viewer, AUDIT_READ, obj, log_grant=False)
    return viewer


def _day(value) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def filters(since=None, until=None, actor=None, action=None, result=None, text=None) -> dict:
    """Form values → `audit.search` keyword filters (until is inclusive of its day). ValueError on bad dates."""
    start, end = _day(since), _day(until)
    if start and end and end < start:
        raise ValueError("结束日期早于开始日期")
    return {"actor": (actor or "").strip() or None, "action": (action or "").strip() or None,
            "result": result or None, "text": (text or "").strip()[:200] or None,
            "since": datetime.combine(start, datetime.min.time()) if start else None,
            "until": datetime.combine(end + timedelta(days=1), datetime.min.time()) if end else None}


def _cell(column, value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return "" if value is None else str(value) if column != "id" else value


def _error(message) -> html.Span:
    return html.Span(str(message), style=ui.ERROR)


@callback(Output(ID.GRID, "rowData"), Output(ID.STATUS, "children"), Input(ID.SEARCH, "n_clicks"),
          State(ID.DATES, "start_date"), State(ID.DATES, "end_date"), State(ID.ACTOR, "value"),
          State(ID.ACTION, "value"), State(ID.RESULT, "value"), State(ID.TEXT, "value"))
def search(_n, since, until, actor, action, result, text):
    try:
        viewer = _viewer("audit_log")
        query = filters(since, until, actor, action, result, text)
        with current_context().session() as s:
            rows, total = audit.search(s, viewer, limit=PAGE_LIMIT, **query)
    except AccessDenied as exc:
        return [], _error(exc)
    except ValueError as exc:
        return [], _error(f"查询条件有误：{exc}")
    shown = f"共 {total} 条" + (f"，显示最新 {len(rows)} 条（请缩小范围）" if total > len(rows) else "")
    return [{**{c: _cell(c, r[c]) for c in audit.COLUMNS}, **{f"{c}_label": cell_text(c, r[c]) for c in SHOWN_IN_WORDS}}
            for r in rows], shown


@callback(Output(ID.VERIFY_OUT, "children"), Input(ID.VERIFY, "n_clicks"), prevent_initial_call=True)
def verify(_n):
    try:
        viewer = _viewer("audit_log:verify")
        with current_context().session() as s:
            outcome = audit.verify(s)
    except AccessDenied as exc:
        return _error(exc)
    guard.audit(viewer, "audit.verify", "audit_log", guard.GRANTED,
                {"ok": outcome.ok, "checked": outcome.checked, "first_bad_id": outcome.first_bad_id})
    if outcome.ok:
        return html.B(outcome.message(), style={"color": "#2f855a"})
    return html.B(f"审计链断裂：第一处异常在序号 {outcome.first_bad_id}。{outcome.message()}", style=ui.ERROR)


@callback(Output(ID.DOWNLOAD, "data"), Output(ID.EXPORT_OUT, "children"), Input(ID.EXPORT, "n_clicks"),
          State(ID.FORMAT, "value"), State(ID.DATES, "start_date"), State(ID.DATES, "end_date"),
          State(ID.ACTOR, "value"), State(ID.ACTION, "value"), State(ID.RESULT, "value"), State(ID.TEXT, "value"),
          prevent_initial_call=True)
def export(_n, fmt, since, until, actor, action, result, text):
    try:
        viewer = _viewer("audit_log:export")
        query = filters(since, until, actor, action, result, text)
        with current_context().session() as s:
            name, data = audit.export(s, viewer, fmt if fmt in dict(EXPORT_FORMATS) else "csv", **query)
    except AccessDenied as exc:
        return dash.no_update, _error(exc)
    except ValueError as exc:
        return dash.no_update, _error(f"导出失败：{exc}")
    return dcc.send_bytes(data, name), f"已导出 {name}（已加水印并记入审计）"
