"""特殊人群随访: what is due and overdue in an area — per grid with its workers (phones masked), and at village and
grid level each person (masked) with the last visit and the due date — and recording a visit. Due dates are the
duty rules' cycles (console/duty/rules.toml); the work is console/services/followup.py. Reading the list is
audited (special-population records are sensitive personal information)."""

from __future__ import annotations

from datetime import date

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, dcc, html

from console.disputes import ui
from console.pages._grid_locale import GRID_LOCALE
from console.security import guard
from console.security.permissions import LAYER_SPECIAL, VIEW_PERSONS
from console.pages import _widgets as w
from console.services import areas, followup
from console.services import viewer as viewers
from console.services.context import current_context
from console.store.followup_models import FOLLOWUP_METHODS

dash.register_page(__name__, path="/followup", title="平安一张图 · 特殊人群随访", name="随访")

PERSON_LEVELS = ("village", "grid")  # where each person is listed (above: counts per grid only)
GRID_ROWS = 200
CELL = {"border": "1px solid var(--pa-line)", "padding": ".25rem .55rem", "textAlign": "right"}
HEAD = {**CELL, "textAlign": "center", "background": "var(--pa-panel)"}
PERSON_COLUMNS = ("姓名", "公民身份号码", "类别", "危险性等级", "上次随访", "周期（天）", "应随访日期", "剩余天数", "网格",
                  "网格员")


class ID:
    GRID, METHOD, DAY, NOTE, SAVE, MESSAGE = "fu-grid", "fu-method", "fu-day", "fu-note", "fu-save", "fu-message"


def layout(area: str | None = None, **_query):
    viewer = viewers.current_viewer()
    if not (viewer.can(LAYER_SPECIAL) and viewer.can(VIEW_PERSONS)):
        return html.Div(html.P("您没有查看特殊人群随访的权限。"), className="pa-page")
    today = date.today()
    with current_context().session() as s:
        resolved = areas.resolve(s, viewer.scope, area)
        node = resolved.node
        trail = areas.breadcrumb(s, node)
        rows = followup.schedule(s, node, viewer.scope, today)
        grids = followup.counts_by_worker(s, rows)
        names = areas.grid_labels(s, {r["grid_code"] for r in rows})
    guard.audit(viewer, "record.read", f"followup:{node.code}", guard.GRANTED, {"rows": len(rows)})
    totals = followup.summary(rows)
    body = [html.H2(f"特殊人群随访 · {node.name}"),
            html.Div(w.link_trail(trail, lambda code: f"/followup?area={code}"), style={"margin": ".2rem 0 .6rem"})]
    if resolved.message:
        body.append(html.P(resolved.message, style=ui.ERROR))
    body.append(html.Div([_card("应随访人员", totals["total"]), _card("已超期", totals["overdue"], "#c53030"),
                          _card(f"{followup.SOON_DAYS} 天内到期", totals["soon"], "#b7791f")],
                         style={"display": "flex", "gap": ".8rem", "flexWrap": "wrap"}))
    body += [html.H3("各网格（超期多的在前）"), _grid_table(grids[:GRID_ROWS], names)]
    if node.level in PERSON_LEVELS:
        body += [html.H3(f"人员（{len(rows)}）"), _person_grid(rows, names), _visit_form(today)]
    else:
        body.append(html.P("进入村（社区）或网格可逐人查看并登记随访。", style=ui.LABEL))
    return html.Div(body, className="pa-page pa-followup", style={"padding": "1rem 1.5rem", "maxWidth": "1600px"})


def _card(title: str, n: int, color: str = "inherit") -> html.Div:
    return html.Div(style={**ui.PANEL, "minWidth": "9rem"}, children=[
        html.Div(title, style=ui.LABEL), html.Div(f"{n:,}", style={"fontSize": "1.6rem", "fontWeight": 700,
                                                                   "color": color})])


def _grid_table(grids: list[dict], names: dict[str, str]):
    if not grids:
        return html.P("暂无数据")
    head = [html.Th(h, style=HEAD) for h in ("网格", "网格员", "应随访", "7天内到期", "已超期")]
    rows = [html.Tr([html.Td(dcc.Link(names.get(g["grid_code"], "未落入网格"), href=f"/followup?area={g['grid_code']}",
                                      title=g["grid_code"] or "") if g["grid_code"] else "未落入网格",
                             style={**CELL, "textAlign": "left"}),
                     html.Td(g["网格员"], style={**CELL, "textAlign": "left"}),
                     html.Td(g["应随访"], style=CELL), html.Td(g["7天内到期"], style=CELL),
                     html.Td(g["已超期"], style={**CELL, "color": "#c53030" if g["已超期"] else "inherit"})])
            for g in grids]
    return html.Table([html.Thead(html.Tr(head)), html.Tbody(rows)], style={"borderCollapse": "collapse"})


def _person_grid(rows: list[dict], names: dict[str, str]):
    data = [{**{k: r[k] for k in PERSON_COLUMNS if k in r}, "网格": names.get(r["grid_code"], "未落入网格"),
             "_rid": r["_rid"]} for r in rows]
    columns = [{"field": c, "headerName": c} for c in PERSON_COLUMNS]
    columns[7]["cellStyle"] = {"function": "params.value < 0 ? {color: '#c53030', fontWeight: 600} : {}"}
    return dag.AgGrid(id=ID.GRID, rowData=data, columnDefs=columns, getRowId="params.data._rid",
                      columnSize="sizeToFit",
                      dashGridOptions={"localeText": GRID_LOCALE, "rowSelection": "single"},
                      defaultColDef={"sortable": True, "resizable": True, "filter": True},
                      style={"height": "24rem"})


def _visit_form(today: date) -> html.Div:
    return html.Div(style={**ui.PANEL, "marginTop": ".6rem"}, children=[
        html.H4("登记随访（先在表中选中一人）", style={"margin": ".2rem 0"}),
        html.Div(style=ui.ROW, children=[
            dcc.Dropdown(id=ID.METHOD, options=[{"label": v, "value": k} for k, v in FOLLOWUP_METHODS.items()],
                         value="visit", clearable=False, style={"width": "10rem"}),
            dcc.DatePickerSingle(id=ID.DAY, date=today.isoformat(), display_format="YYYY-MM-DD",
                                 max_date_allowed=today.isoformat(), style={"width": "11rem"}),
            dcc.Input(id=ID.NOTE, placeholder="随访情况（可选）", style={**ui.INPUT, "width": "28rem"}),
            html.Button("保存", id=ID.SAVE, n_clicks=0, style=ui.BUTTON),
            html.Div(id=ID.MESSAGE)])])


@callback(Output(ID.MESSAGE, "children"), Input(ID.SAVE, "n_clicks"), State(ID.GRID, "selectedRows"),
          State(ID.METHOD, "value"), State(ID.DAY, "date"), State(ID.NOTE, "value"), prevent_initial_call=True)
def record(_n, selected, method, day, note):
    row = selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], dict) else None
    rid = row.get("_rid") if row else None
    if not isinstance(rid, int):
        return html.Span("请先在表中选中一人", style=ui.ERROR)
    try:
        visited = date.fromisoformat(day[:10]) if isinstance(day, str) else None
    except ValueError:
        visited = None
    if visited is None:
        return html.Span("随访日期应为 年-月-日", style=ui.ERROR)
    why = followup.record_visit(current_context().sessions, viewers.current_viewer(), rid, visited,
                                method if isinstance(method, str) else "", note if isinstance(note, str) else "",
                                date.today())
    if why:
        return html.Span(why, style=ui.ERROR)
    return html.Span(f"已登记 {row.get('姓名', '')} {visited:%Y-%m-%d} 的随访（刷新页面后重新计算应随访日期）", style=ui.OK)
