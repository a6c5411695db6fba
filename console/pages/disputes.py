"""矛盾纠纷 台账: filters, ledger grid, case detail with history and workflow buttons, register form,
Excel export / import. Callbacks are thin: they call console.disputes.* and render the result."""

from __future__ import annotations

from datetime import date, datetime

import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from console.store import names as area_names
from console.disputes import deadlines, excel, ledger, locate, routing, service, workflow
from console.disputes import ui
from console.pages import _dispute_import as ledger_import
from console.pages._basemap import attribution, basemap_layers
from console.security.permissions import DISPUTE_REGISTER, EXPORT
from console.pages._unmask import reveal_control
from console.security import throttle
from console.security.guard import AccessDenied
from console.services.context import current_context
from console.services import viewer as viewers

dash.register_page(__name__, path="/disputes", title="平安一张图 · 矛盾纠纷", name="矛盾纠纷")

PAGE_ROWS = 500


class ID:
    F_AREA, F_CAT, F_STATE, F_DATES, F_OVERDUE, F_TEXT = ("dl-f-area", "dl-f-cat", "dl-f-state", "dl-f-dates",
                                                          "dl-f-overdue", "dl-f-text")
    SEARCH, COUNT, GRID = "dl-search", "dl-count", "dl-grid"
    EXPORT, DOWNLOAD = "dl-export", "dl-download"
    DETAIL, CASE = "dl-detail", "dl-case"
    ACTION = "dl-action"  # pattern: {"type": ACTION, "action": ...}
    A_NOTE, A_LEVEL, A_DEPT, A_OUTCOME, A_SAT, A_MSG = ("dl-a-note", "dl-a-level", "dl-a-dept", "dl-a-outcome",
                                                        "dl-a-sat", "dl-a-msg")
    R = "dl-r-"  # prefix of register form fields
    R_SAVE, R_FORCE, R_MSG, REFRESH = "dl-r-save", "dl-r-force", "dl-r-msg", "dl-refresh"
    R_MAP, R_PIN, R_FOUND = "dl-r-map", "dl-r-pin", "dl-r-found"


R_FIELDS = ("title", "category", "occurred_on", "place", "lon", "lat", "scale", "risk_grade", "complexity",
            "description", "p1_name", "p1_id", "p1_phone", "p2_name", "p2_id", "p2_phone")


def _field(label, component):
    return html.Label([html.Span(label, style=ui.LABEL), component], style={"display": "flex", "gap": ".4rem",
                                                                             "alignItems": "center"})


def _input(key, placeholder="", type_="text", width="11rem"):
    return dcc.Input(id=ID.R + key, type=type_, placeholder=placeholder, debounce=False,
                     style={**ui.INPUT, "width": width})


def _coord(key: str, placeholder: str) -> dcc.Input:
    return dcc.Input(id=ID.R + key, type="text", inputMode="decimal", placeholder=placeholder, debounce=False,
                     style={**ui.INPUT, "width": "12rem"})


def _register_form():
    return html.Div(style=ui.PANEL, children=[
        html.H3("登记受理", style={"margin": ".2rem 0"}),
        html.Div(style=ui.ROW, children=[
            _field("事件名称", _input("title", "如：一组排水纠纷", width="16rem")),
            _field("纠纷类别", dcc.Dropdown(id=ID.R + "category", options=ui.CATEGORY_OPTIONS, style={"width": "10rem"})),
            _field("发生日期", dcc.Input(id=ID.R + "occurred_on", type="text", placeholder="YYYY-MM-DD",
                                     value=f"{date.today():%Y-%m-%d}", style={**ui.INPUT, "width": "8rem"})),
            _field("涉及人数", _input("scale", "人数", "number", "5rem")),
        ]),
        html.Div(style=ui.ROW, children=[
            _field("发生地点", _input("place", "地址", width="16rem")),
            # plain text boxes (a number box's ± steppers and a cut-off "如 1" hint helped nobody)
            _field("经度", _coord("lon", "经度，如 108.5312")),
            _field("纬度", _coord("lat", "纬度，如 32.5247")),
            html.Span("在下方地图点击选点，所属网格自动判定", id=ID.R_FOUND, style=ui.LABEL, role="status"),
        ]),
        dl.Map(id=ID.R_MAP, bounds=[[31.7, 108.0], [33.8, 110.2]], style={"height": "20rem", "width": "40rem"},
               attributionControl=False, preferCanvas=True, trackViewport=False, children=[
            attribution(), *basemap_layers(),
            # the pin never takes a click meant for the map (it sits, invisible, where a first click would go)
            dl.Marker(id=ID.R_PIN, position=[32.7, 109.0], opacity=0, interactive=False)]),
        html.Div(style=ui.ROW, children=[
            _field("风险等级", dcc.Dropdown(id=ID.R + "risk_grade", options=ui.RISK_OPTIONS, value="low",
                                        clearable=False, style={"width": "6rem"})),
            _field("复杂程度", dcc.Dropdown(id=ID.R + "complexity", options=ui.COMPLEXITY_OPTIONS, value="",
                                        clearable=False, style={"width": "8rem"})),
        ]),
        _field("事件简述", dcc.Textarea(id=ID.R + "description", style={**ui.INPUT, "width": "40rem", "height": "3rem"})),
        *[html.Div(style=ui.ROW, children=[
            html.Span(role_label, style=ui.LABEL), _input(f"p{i}_name", "姓名", width="7rem"),
            _input(f"p{i}_id", "公民身份号码（18位）", width="14rem"), _input(f"p{i}_phone", "联系电话", width="9rem")])
          for i, role_label in ((1, "申请人"), (2, "被申请人"))],
        html.Div(style=ui.ROW, children=[
            html.Button("登记", id=ID.R_SAVE, n_clicks=0, style=ui.BUTTON),
            html.Button("确认不是重复，仍然登记", id=ID.R_FORCE, n_clicks=0, style={**ui.BUTTON_LIGHT, "display": "none"}),
            html.Div(id=ID.R_MSG),
        ]),
    ])


def _shown(allowed: bool, style: dict) -> dict:
    return style if allowed else {**style, "display": "none"}


def layout(**_query):
    viewer = viewers.current_viewer()
    return html.Div([
        dcc.Store(id=ID.REFRESH, data=0), dcc.Store(id=ID.CASE),
        dcc.Download(id=ID.DOWNLOAD),
        html.Div(style=ui.ROW, children=[html.H2("矛盾纠纷台账", style={"margin": ".2rem 0"}),
                                         dcc.Link("统计研判 →", href="/disputes/stats")]),
        html.Div(style=ui.ROW, children=[
            dcc.Input(id=ID.F_AREA, placeholder="区划（如 紫阳县，或代码）", style={**ui.INPUT, "width": "11rem"}),
            dcc.Dropdown(id=ID.F_CAT, options=ui.CATEGORY_OPTIONS, placeholder="纠纷类别", style={"width": "9rem"}),
            dcc.Dropdown(id=ID.F_STATE, options=ui.STATE_OPTIONS, placeholder="办理状态", style={"width": "9rem"}),
            dcc.DatePickerRange(id=ID.F_DATES, display_format="YYYY-MM-DD", start_date_placeholder_text="登记起",
                                end_date_placeholder_text="登记止"),
            dcc.Checklist(id=ID.F_OVERDUE, options=[{"label": " 仅超期（督办）", "value": "overdue"}], value=[]),
            dcc.Input(id=ID.F_TEXT, placeholder="编号/名称/地点", style={**ui.INPUT, "width": "12rem"}),
            html.Button("查询", id=ID.SEARCH, n_clicks=0, style=ui.BUTTON),
            # hidden, not just refused, where the role cannot (the callbacks still check the permission)
            html.Button("导出Excel", id=ID.EXPORT, n_clicks=0, style=_shown(viewer.can(EXPORT), ui.BUTTON_LIGHT)),
            html.Div(ledger_import.upload_button(), style=_shown(viewer.can(DISPUTE_REGISTER), {})),
            html.Span(id=ID.COUNT, style=ui.LABEL),
        ]),
        ledger_import.panel(),
        dag.AgGrid(id=ID.GRID, columnDefs=ui.LEDGER_COLUMNS, rowData=[], getRowId="params.data.id",
                   defaultColDef={"sortable": True, "resizable": True}, style={"height": "26rem"},
                   dashGridOptions={"rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                     "enableClickSelection": True},
                                    "pagination": True, "paginationPageSize": 50, "localeText": ui.GRID_LOCALE}),
        html.Div(id=ID.DETAIL),
        html.Div(_register_form(), style=_shown(viewer.can(DISPUTE_REGISTER), {})),
    ])


def _filters(s, area, cat, state, since, until, overdue, text) -> ledger.Filters:
    """The ledger's filters; the area is typed as a name ("紫阳县", "城关镇 西关社区") or a code."""
    return ledger.Filters(area=area_names.area_code(s, area), category=cat or None, state=state or None,
                          since=date.fromisoformat(since) if since else None,
                          until=date.fromisoformat(until) if until else None, overdue=bool(overdue), text=text or None)


FILTER_STATES = [State(i, p) for i, p in ((ID.F_AREA, "value"), (ID.F_CAT, "value"), (ID.F_STATE, "value"),
                                          (ID.F_DATES, "start_date"), (ID.F_DATES, "end_date"),
                                          (ID.F_OVERDUE, "value"), (ID.F_TEXT, "value"))]


@callback(Output(ID.GRID, "rowData"), Output(ID.COUNT, "children"),
          Input(ID.SEARCH, "n_clicks"), Input(ID.REFRESH, "data"), *FILTER_STATES)
def search(_n, _refresh, *filters):
    viewer = viewers.current_viewer()
    try:
        with current_context().session() as s:
            f = _filters(s, *filters)
            rows, total = ledger.query(s, viewer.scope, f, datetime.now(), limit=PAGE_ROWS)
    except ValueError as exc:
        return [], f"查询条件有误：{exc}"
    more = f"，显示最近{PAGE_ROWS}件（请缩小条件）" if total > PAGE_ROWS else ""
    return rows, f"共{total}件{more}"


@callback(Output(ID.DOWNLOAD, "data"), Output(ID.COUNT, "children", allow_duplicate=True),
          Input(ID.EXPORT, "n_clicks"), *FILTER_STATES, prevent_initial_call=True)
def export(_n, *filters):
    viewer = service.as_guard_viewer(viewers.current_viewer(), current_context().sessions)
    try:
        with current_context().session() as s:
            name, data = excel.export(s, viewer, ledger.where(viewer.scope, _filters(s, *filters), datetime.now()))
    except (AccessDenied, ValueError) as exc:
        return no_update, f"无法导出：{exc}"
    return dcc.send_bytes(data, name), no_update


def _detail(case: dict, permissions) -> html.Div:
    acts = workflow.actions_from(case["state_key"], permissions)
    suggested = routing.suggest(case["category_key"], case["complexity_key"], case["village_code"]) \
        if case["village_code"] else None
    needs = {f for t in acts for f in t.requires}
    info = [("编号", case["code"]), ("类别", case["category"]), ("状态", case["state"]), ("时限", case["status"]),
            ("办理时限", case["deadline"]), ("交办", f"{case['handling_level']} {case['department']}"),
            ("网格", case.get("grid_name") or case["grid_code"]), ("地点", case["place"]),
            ("发生日期", case["occurred_on"])]
    hover = {"网格": case["grid_code"] or ""}  # the code stays one hover away
    return html.Div(style=ui.PANEL, children=[
        html.H3(f"{case['title']}", style={"margin": ".2rem 0"}),
        html.Div([html.Span(f"{k}：{v}　", title=hover.get(k)) for k, v in info]),
        html.P(case["description"]),
        html.Div(["当事人："] + [html.Span([f"{p['role']} {p['name']}（", reveal_control("party", p["id"], p["id_number"])]
                                          + ([" 电话 ", reveal_control("party", p["id"], p["phone"], field="phone")]
                                             if p["phone"] else []) + ["）；"]) for p in case["parties"]]),
        html.Div(f"超期{case['late_days']}天，请督办" if case["late_days"] else "", style=ui.ERROR),
        html.H4("办理记录", style={"margin": ".4rem 0 .2rem"}),
        html.Table([html.Tr([html.Th(h, style=ui.CELL) for h in ("时间", "环节", "办理人", "意见")])] +
                   [html.Tr([html.Td(h["at"], style=ui.CELL),
                             html.Td(f"{h['from']}→{h['to']}" if h["from"] else h["to"], style=ui.CELL),
                             html.Td(h["actor"], style=ui.CELL), html.Td(h["note"], style=ui.CELL)])
                    for h in case["history"]], style={"borderCollapse": "collapse"}),
        html.Div(style=ui.ROW, children=[
            dcc.Input(id=ID.A_NOTE, placeholder="办理意见", style={**ui.INPUT, "width": "16rem"}),
            dcc.Dropdown(id=ID.A_LEVEL, options=ui.LEVEL_OPTIONS, value=suggested.level if suggested else None,
                         clearable=False, style={"width": "7rem", "display": "block" if "level" in needs else "none"}),
            dcc.Input(id=ID.A_DEPT, value=suggested.department if suggested else "", placeholder="承办部门",
                      style={**ui.INPUT, "width": "11rem", "display": "inline-block" if "level" in needs else "none"}),
            dcc.Input(id=ID.A_OUTCOME, placeholder="化解结果", style={**ui.INPUT, "width": "12rem",
                      "display": "inline-block" if "outcome" in needs else "none"}),
            dcc.Dropdown(id=ID.A_SAT, options=ui.SATISFACTION_OPTIONS, placeholder="满意度",
                         style={"width": "7rem", "display": "block" if "satisfaction" in needs else "none"}),
        ]),
        html.Div(f"建议：{suggested.reason}" if suggested and "level" in needs else "", style=ui.LABEL),
        html.Div(style=ui.ROW, children=[html.Button(t.label, id={"type": ID.ACTION, "action": t.action}, n_clicks=0,
                                                     style=ui.BUTTON) for t in acts] or [html.Span("无可办理操作")]),
        html.Div(id=ID.A_MSG),
    ])


@callback(Output(ID.DETAIL, "children"), Output(ID.CASE, "data"),
          Input(ID.GRID, "selectedRows"), Input(ID.REFRESH, "data"), State(ID.CASE, "data"))
def show_case(selected, _refresh, current):
    case_id = selected[0]["id"] if selected else current
    if ctx.triggered_id == ID.GRID and selected:
        case_id = selected[0]["id"]
    if not case_id:
        return html.P("在台账中点击一行查看案件详情与办理记录。", style=ui.LABEL), None
    viewer = viewers.current_viewer()
    with current_context().session() as s:
        case = ledger.case_detail(s, viewer.scope, case_id, datetime.now())
        if case:
            case["grid_name"] = area_names.label(area_names.names(s, [case["grid_code"]]), case["grid_code"])
    if case is None:
        return html.P("案件不存在或不在您的范围内。", style=ui.ERROR), None
    return _detail(case, viewer.permissions), case_id


@callback(Output(ID.A_MSG, "children"), Output(ID.REFRESH, "data", allow_duplicate=True),
          Input({"type": ID.ACTION, "action": ALL}, "n_clicks"),
          State(ID.CASE, "data"), State(ID.A_NOTE, "value"), State(ID.A_LEVEL, "value"), State(ID.A_DEPT, "value"),
          State(ID.A_OUTCOME, "value"), State(ID.A_SAT, "value"), State(ID.REFRESH, "data"), prevent_initial_call=True)
def act(clicks, case_id, note, level, dept, outcome, sat, refresh):
    if not case_id or not any(clicks or []) or not isinstance(ctx.triggered_id, dict):
        return no_update, no_update
    values = {"note": note, "level": level, "department": dept, "outcome": outcome, "satisfaction": sat}
    try:
        res = service.transition(current_context().sessions, viewers.current_viewer(), case_id,
                                 ctx.triggered_id["action"], values, now=datetime.now(),
                                 policy=deadlines.configured())
    except AccessDenied as exc:
        return html.Span(str(exc), style=ui.ERROR), no_update
    if not res.ok:
        return html.Span(res.message, style=ui.ERROR), no_update
    return html.Span("已办理", style=ui.OK), (refresh or 0) + 1


@callback(Output(ID.R_MSG, "children"), Output(ID.R_FORCE, "style"), Output(ID.REFRESH, "data", allow_duplicate=True),
          Output(ID.CASE, "data", allow_duplicate=True),
          Input(ID.R_SAVE, "n_clicks"), Input(ID.R_FORCE, "n_clicks"),
          *[State(ID.R + k, "value") for k in R_FIELDS], State(ID.REFRESH, "data"), prevent_initial_call=True)
def register(_save, _force, *values):
    form = dict(zip(R_FIELDS, values[:-1]))
    raw = {k: form[k] for k in R_FIELDS[:10]}
    raw["parties"] = ui.party_list(("applicant", form["p1_name"], form["p1_id"], form["p1_phone"]),
                                   ("respondent", form["p2_name"], form["p2_id"], form["p2_phone"]))
    hidden = {**ui.BUTTON_LIGHT, "display": "none"}
    try:
        res = service.register(current_context().sessions, viewers.current_viewer(), raw, now=datetime.now(),
                               allow_duplicate=ctx.triggered_id == ID.R_FORCE, policy=deadlines.configured())
    except throttle.Throttled as exc:
        return html.Span(str(exc), style=ui.ERROR), hidden, no_update, no_update
    except AccessDenied as exc:
        return html.Span(f"{exc}（登记需本辖区的登记权限）", style=ui.ERROR), hidden, no_update, no_update
    if res.ok:
        return html.Span(f"登记成功，案件编号 {res.code}", style=ui.OK), hidden, (values[-1] or 0) + 1, res.dispute_id
    if res.duplicates:
        return html.Span(res.message, style=ui.ERROR), ui.BUTTON_LIGHT, no_update, no_update
    msgs = [html.Div(f"{service_label(k)}：{v}") for k, v in res.errors.items()]
    return html.Div(msgs, style=ui.ERROR), hidden, no_update, no_update


def service_label(key: str) -> str:
    from console.disputes.validation import FIELD_LABELS

    return FIELD_LABELS.get(key, key)


def _latlng(click) -> tuple[float, float] | None:
    ll = (click or {}).get("latlng")
    if isinstance(ll, dict):
        return ll.get("lat"), ll.get("lng")
    if isinstance(ll, (list, tuple)) and len(ll) == 2:
        return ll[0], ll[1]
    return None


@callback(Output(ID.R + "lon", "value"), Output(ID.R + "lat", "value"), Output(ID.R_PIN, "position"),
          Output(ID.R_PIN, "opacity"), Output(ID.R_FOUND, "children"), Input(ID.R_MAP, "clickData"),
          prevent_initial_call=True)
def pick_point(click):
    """A click on the map: its coordinates, the pin, and which grid the point falls in (by name)."""
    point = _latlng(click)
    if point is None or None in point:
        return no_update, no_update, no_update, no_update, no_update
    lat, lon = point
    with current_context().session() as s:
        found = locate.locator_for(s).locate(lon, lat)
        where = area_names.path_names(s, [found["grid_code"]]).get(found["grid_code"]) if found else None
    said = f"所属网格：{where}" if where else "该点不在安康市任何网格内，请重新选点"
    return f"{lon:.6f}", f"{lat:.6f}", [lat, lon], 1, said
