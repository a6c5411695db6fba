"""值班: live alerts on the map and in a list, details with nearby cameras and the grid worker, actions, handover.

The list and map are fed by `console.duty.feed` through GET /api/alerts/changes (only what changed since the
page's cursor): `assets/pingan_duty.js` polls it in a self-paced loop (≈ 4 per second when idle), merges the
rows, flashes new markers and plays `assets/sounds/alert.wav`. Callbacks stay thin: reading and acting live in `console.duty`.
"""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import Input, Output, State, callback, clientside_callback, ClientsideFunction, dcc, html, no_update
from dash_extensions.javascript import Namespace
from sqlalchemy import select

from console.duty import actions, desk, detail, feed
from console.pages._basemap import attribution, basemap_layers
from console.pages._gate import ForgedValue
from console.pages._grid_locale import GRID_LOCALE
from console.pages._unmask import reveal_control
from console.duty.rules import RULE_LABELS, task_due_hours
from console.field import roster as field_roster, tasks as field_tasks
from console.field.validation import FieldError
from console.security.guard import AccessDenied
from console.security.permissions import ALERT_ACT, INCIDENT_COMMAND, VIEW_VIDEO
from console.services import areas
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store import Alert, Area
from console.store.codes import ALERT_STATES, OPEN_ALERT_STATES

dash.register_page(__name__, path="/duty", title="平安一张图 · 值班", name="值班")

NS = Namespace("pingan", "duty")
EMPTY = {"type": "FeatureCollection", "features": []}


class ID:
    CHANGES = "duty-changes"
    SELECTED = "duty-selected"
    ACTED = "duty-acted"
    AREA = "duty-filter-area"
    RULE = "duty-filter-rule"
    STATE = "duty-filter-state"
    COUNT = "duty-count"
    MAP = "duty-map"
    ALERTS = "duty-map-alerts"
    GRIDS = "duty-map-grids"
    CAMERAS = "duty-map-cameras"
    LIST = "duty-list"
    DETAIL = "duty-detail"
    ASSIGNEE = "duty-assignee"
    NOTE = "duty-note"
    MESSAGE = "duty-message"
    AUDIO = "duty-audio"
    HANDOVER_BTN = "duty-handover-btn"
    HANDOVER = "duty-handover"
    ACTION = {k: f"duty-act-{k}" for k in actions.ACTIONS}


COLUMNS = [
    {"field": "raised_at", "headerName": "时间（北京）", "width": 170, "sort": "desc"},
    {"field": "severity_label", "headerName": "级别", "width": 90},
    {"field": "rule_label", "headerName": "类型", "width": 130},
    {"field": "title", "headerName": "内容", "flex": 1, "minWidth": 220},
    {"field": "state_label", "headerName": "状态", "width": 90},
    {"field": "grid_name", "headerName": "网格", "width": 190, "tooltipField": "grid"},
    {"field": "county", "hide": True}, {"field": "rule", "hide": True}, {"field": "state", "hide": True},
    {"field": "open", "hide": True},
]
ROW_CLASSES = {"pa-row-critical": "params.data.severity == 'critical'", "pa-row-high": "params.data.severity == 'high'"}
STATE_OPTIONS = [{"label": "未办结", "value": "open"}] + [{"label": v, "value": k} for k, v in ALERT_STATES.items()]


def _filters(counties: list[tuple[str, str]]) -> html.Div:
    return html.Div(className="pa-duty-bar", children=[
        html.H2("值班", className="pa-heading"),
        dcc.Dropdown(id=ID.AREA, className="pa-dd", placeholder="全部县区", options=[
            {"label": n, "value": c} for c, n in counties]),
        dcc.Dropdown(id=ID.RULE, className="pa-dd", placeholder="全部类型", options=[
            {"label": v, "value": k} for k, v in RULE_LABELS.items()]),
        dcc.Dropdown(id=ID.STATE, className="pa-dd", value="open", clearable=True, placeholder="全部状态",
                     options=STATE_OPTIONS),
        html.Button("交接班清单", id=ID.HANDOVER_BTN, className="pa-btn"),
        html.Span(id=ID.COUNT, className="pa-duty-count", role="status"),
    ])


def _map(bbox: tuple[float, float, float, float]) -> dl.Map:
    """The first frame shows the viewer's whole area (docs/console.md, "The first frame"), never a fixed zoom
    that leaves the basemap's extent as a box inside the pane."""
    x0, y0, x1, y1 = bbox
    # `bounds` decides the first view; center and zoom are there too because dash-leaflet's viewport tracking
    # reads them on every move (without them each pan throws in the browser)
    return dl.Map(id=ID.MAP, preferCanvas=True, bounds=[[y0, x0], [y1, x1]], boundsOptions={"padding": [20, 20]},
                  center=[(y0 + y1) / 2, (x0 + x1) / 2], zoom=8, zoomSnap=0.25, minZoom=6, maxZoom=18,
                  className="pa-leaflet", attributionControl=False, children=[
        attribution(),
        dl.ScaleControl(position="bottomleft", imperial=False), *basemap_layers(),
        # around the selected alert: its village's grids (its own marked) and the cameras within 5 km
        dl.GeoJSON(id=ID.GRIDS, data=EMPTY, style=NS("gridStyle"), onEachFeature=NS("gridEach")),
        dl.GeoJSON(id=ID.CAMERAS, data=EMPTY, pointToLayer=NS("cameraPoint")),
        dl.GeoJSON(id=ID.ALERTS, data=EMPTY, pointToLayer=NS("alertPoint")),
    ])


def _actions_panel() -> html.Div:
    buttons = [html.Button(label, id=ID.ACTION[key], className="pa-primary" if key == "acknowledge" else "",
                           disabled=True)  # until an alert is selected: then only what its state allows
               for key, (label, *_rest) in actions.ACTIONS.items()]
    return html.Div(className="pa-card", children=[
        html.Div("处置", className="pa-legend-title"),
        # 派往: a choice from the roster of the selected alert's grid (filled by show_detail), never free text
        dcc.Dropdown(id=ID.ASSIGNEE, className="pa-dd pa-duty-assignee", options=[], clearable=True,
                     searchable=False, placeholder="派往：本网格网格员（最近的在岗者在前）"),
        dcc.Textarea(id=ID.NOTE, className="pa-duty-input", placeholder="说明 / 处理结果"),
        html.Div(buttons, className="pa-duty-actions"),
        html.Div(id=ID.MESSAGE, className="pa-duty-msg", role="alert"),
    ])


def layout(**_query) -> html.Div:
    ctx = current_context()
    viewer = current_viewer()
    with ctx.session() as s:
        counties = s.execute(select(Area.code, Area.name).where(Area.level == "county").order_by(Area.code)).all()
        home = areas.resolve(s, viewer.scope, None).node
        initial = {"cursor": feed.head(s), "alerts": feed.open_alerts(s, viewer.scope), "initial": True,
                   "open_states": list(OPEN_ALERT_STATES)}
    for r in initial["alerts"]:
        r["rid"] = str(r["id"])
    return html.Div(className="pa-duty", children=[
        dcc.Store(id=ID.CHANGES, data=initial), dcc.Store(id=ID.SELECTED), dcc.Store(id=ID.ACTED, data=0),
        html.Audio(id=ID.AUDIO, src=dash.get_asset_url("sounds/alert.wav"), preload="auto"),
        _filters(counties),
        html.Div(className="pa-duty-body", children=[
            html.Div(className="pa-duty-left", children=[
                html.Div(_map(home.bbox), className="pa-duty-map"),
                dag.AgGrid(id=ID.LIST, rowData=initial["alerts"], columnDefs=COLUMNS, getRowId="params.data.rid",
                           className="ag-theme-alpine pa-grid pa-duty-grid pa-duty-list", rowClassRules=ROW_CLASSES,
                           defaultColDef={"resizable": True, "sortable": True, "filter": True},
                           dashGridOptions={"localeText": GRID_LOCALE, "animateRows": False, "tooltipShowDelay": 300,
                                            "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True}}),
            ]),
            html.Aside(className="pa-duty-right", children=[
                html.Div(id=ID.DETAIL, className="pa-card pa-duty-detail", children=html.P("点击列表或地图上的预警查看详情。")),
                _actions_panel(),
                html.Div(id=ID.HANDOVER, className="pa-card pa-handover", style={"display": "none"}),
            ]),
        ]),
    ])


# The feed itself runs in assets/pingan_duty.js (GET /api/alerts/changes, self-paced, only what changed);
# this callback seeds it with the rows drawn at layout time and applies the filters.
clientside_callback(ClientsideFunction("duty", "merge"),
                    Output(ID.ALERTS, "data"), Output(ID.LIST, "filterModel"), Output(ID.COUNT, "children"),
                    Input(ID.CHANGES, "data"), Input(ID.AREA, "value"), Input(ID.RULE, "value"), Input(ID.STATE, "value"))

clientside_callback(ClientsideFunction("duty", "select"), Output(ID.SELECTED, "data"), Output(ID.MAP, "viewport"),
                    Input(ID.LIST, "cellClicked"), Input(ID.ALERTS, "clickData"), prevent_initial_call=True)


@callback(Output(ID.DETAIL, "children"), Output(ID.GRIDS, "data"), Output(ID.CAMERAS, "data"),
          *[Output(ID.ACTION[k], "disabled") for k in actions.ACTIONS],
          Output(ID.ASSIGNEE, "options"), Output(ID.ASSIGNEE, "value"),
          Input(ID.SELECTED, "data"), Input(ID.ACTED, "data"), prevent_initial_call=True)
def show_detail(alert_id, _acted):
    """The alert's details, the map around it, the action buttons its state allows and the 派往 choices (the
    grid's roster, nearest on duty first: the first one preselected)."""
    if not alert_id:
        return no_update, no_update, no_update, *[True] * len(actions.ACTIONS), [], None
    viewer = current_viewer()
    with current_context().session() as s:
        d = detail.alert_detail(s, viewer, int(alert_id))
        around = desk.alert_map(s, d["grid"], d["village"], d["lon"], d["lat"]) if d else None
        if d:
            d["roster"], d["tasks"] = _field(s, int(alert_id))
            d["can_act"] = viewer.can(ALERT_ACT)
            names = {w["username"]: w["name"] for w in d["roster"]}
            d["assignee"] = names.get(d["assignee"], d["assignee"])  # a person reads names, not account codes
            for t in d["tasks"]:
                t["assignee_name"] = names.get(t["assignee"], t["assignee"])
    if not d:
        return html.P("该预警不存在或不在您的数据范围内。"), EMPTY, EMPTY, *[True] * len(actions.ACTIONS), [], None
    can = viewer.can(ALERT_ACT)
    disabled = [not (can and k in d["allowed"]) for k in actions.ACTIONS]
    options = [{"label": field_roster.label(w), "value": w["username"]} for w in d["roster"]]
    return (_render_detail(d, viewer.can(VIEW_VIDEO), viewer.can(INCIDENT_COMMAND)), around["grids"], around["cameras"],
            *disabled, options, options[0]["value"] if options else None)


def _field(s, alert_id: int) -> tuple[list, list]:
    """The alert grid's workers with a phone account, and the alert's phone tasks with their states."""
    alert = s.get(Alert, alert_id)
    viewer = current_viewer()
    if alert is None or not viewer.can(ALERT_ACT):
        return [], []
    now = current_context().security.settings.clock()
    point = (alert.lon, alert.lat) if alert.lon is not None else None
    return (field_tasks.roster(s, alert.grid_code, now, point) if alert.grid_code else [],
            field_tasks.for_alert(s, viewer, alert_id, now))


@callback(Output(ID.ACTED, "data"), Output(ID.MESSAGE, "children"), Output(ID.NOTE, "value"),
          *[Input(ID.ACTION[k], "n_clicks") for k in actions.ACTIONS],
          State(ID.SELECTED, "data"), State(ID.ASSIGNEE, "value"), State(ID.NOTE, "value"), State(ID.ACTED, "data"),
          prevent_initial_call=True)
def act(*args):
    alert_id, assignee, note, acted = args[-4:]
    key = dash.ctx.triggered_id.removeprefix("duty-act-") if dash.ctx.triggered_id else None
    if not alert_id or key not in actions.ACTIONS:
        return no_update, "请先选择一条预警。", no_update
    if key == "dispatch" and not assignee:
        return no_update, "请在“派往”中选择本网格的网格员。", no_update
    try:
        with current_context().session() as s, s.begin():
            alert = s.get(Alert, int(alert_id))
            if key == "dispatch" and alert is not None:
                if not field_tasks.on_roster(s, alert.grid_code, assignee) or not current_viewer().sees(alert.grid_code):
                    # the page offers only the grid's roster: anything else is a forged request (400, named)
                    raise ForgedValue(f"派往对象「{str(assignee)[:32]}」不是该预警所在网格"
                                      f"（{alert.grid_code or '无网格'}）的网格员，不能派单")
                # the task goes to the worker's phone (docs/field.md §6)
                field_tasks.dispatch_alert(s, current_viewer(), alert, assignee, note or "",
                                           current_context().security.settings.clock(),
                                           task_due_hours(alert.rule, alert.severity))
            actions.act(s, current_viewer(), int(alert_id), key, note or "", assignee=assignee)
            # the alert's open phone tasks follow it: 改派 / 撤销 (docs/field.md §6)
            field_tasks.follow_alert(s, current_viewer(), int(alert_id), key, assignee,
                                     current_context().security.settings.clock())
    except (actions.ActionError, FieldError) as exc:
        return no_update, str(exc), no_update
    except AccessDenied:
        return no_update, "您没有处置预警的权限（alert:act）。", no_update
    return (acted or 0) + 1, "", ""


@callback(Output(ID.HANDOVER, "children"), Output(ID.HANDOVER, "style"), Input(ID.HANDOVER_BTN, "n_clicks"),
          prevent_initial_call=True)
def handover(n):
    if n and n % 2 == 0:
        return no_update, {"display": "none"}
    with current_context().session() as s:
        rows = feed.open_alerts(s, current_viewer().scope, limit=500)
    by_state = {k: sum(1 for r in rows if r["state"] == k) for k in actions.OPEN_STATES}
    summary = "，".join(f"{ALERT_STATES[k]} {v} 条" for k, v in by_state.items())
    table = html.Table([html.Thead(html.Tr([html.Th(h) for h in ("时间", "级别", "内容", "状态", "派往")])),
                        html.Tbody([html.Tr([html.Td(r["raised_at"]), html.Td(r["severity_label"]),
                                             html.Td(r["title"]), html.Td(r["state_label"]), html.Td(r["assignee"] or "")])
                                    for r in rows[:200]])])
    return [html.H4(f"交接班：未办结 {len(rows)} 条"), html.P(summary), table], {"display": "block"}


def _dl(pairs) -> html.Dl:
    return html.Dl([x for k, v in pairs for x in (html.Dt(k), html.Dd(v if v not in (None, "") else "—"))])


def _render_detail(d: dict, video: bool = False, command: bool = False) -> list:
    source, source_ref = d["source"]
    out = [html.H3(d["title"], id="duty-detail-title"),
           # 突发事件: raise at a level of the response plan (docs/safety.md)
           dcc.Link("升级为突发事件", href=f"/incident?alert={d['id']}", id="duty-raise-incident",
                    className="pa-btn pa-primary") if command else None,
           _dl([("级别", d["severity_label"]), ("状态", d["state_label"]), ("规则", d["rule"]),
                ("时间（北京）", d["raised_at"]), ("位置", d["place"]),
                ("网格", html.Span(d["grid_name"], title=d["grid"] or "") if d["grid"] else None),
                ("来源", html.Span(source, title=source_ref)), ("派往", d["assignee"])])]
    if d["report"]:
        out += [html.H4("上报内容"), html.P(d["report"], className="pa-duty-report", id="duty-detail-report")]
    if d["person"]:
        p = d["person"]
        out += [html.H4("人员（已脱敏）"), _dl([
            ("姓名", p["name"]), ("身份证号", reveal_control("alert", d["id"], p["id_number"])),
            ("电话", reveal_control("alert", d["id"], p["phone"], field="phone") if p["phone"] else None),
            ("类别", "、".join(p["categories"])), ("危险性等级", p["risk_level"])])]
    out.append(html.H4("网格员"))
    out.append(html.Ul([html.Li([f"{w['role']} {w['name']} ", reveal_control("worker", w["id"], w["phone"], field="phone")])
                        for w in d["workers"]]) if d["workers"] else html.P("—"))
    if d.get("roster"):
        out.append(html.H4("本网格网格员（最近的在岗者在前，在“派往”中选择）"))
        out.append(html.Ol([html.Li(field_roster.label(w)) for w in d["roster"]], id="duty-roster"))
    elif d.get("can_act"):
        out.append(html.P("本网格没有网格员手机账户，不能派单到手机；可“上报”。", id="duty-roster"))
    if d.get("tasks"):
        out.append(html.H4("手机任务"))
        out.append(html.Ul([html.Li(f"{t['assignee_name']}：{t['state_label']}" + ("（已超期）" if t["overdue"] else "")
                                    + (f" — {t['report']}" if t["report"] else "")) for t in d["tasks"]],
                           id="duty-field-tasks"))
    out.append(html.H4("附近摄像机"))
    if video and d["cameras"]:  # the wall fills itself with the nearest online cameras (docs/video.md)
        out.append(dcc.Link("上墙播放附近摄像机", href=f"/video?alert={d['id']}", className="pa-btn pa-primary"))
    out.append(html.Ul([html.Li(f"{c['name']}（{c['status_label']}，{c['distance_m']} 米）") for c in d["cameras"]])
               if d["cameras"] else html.P("5 公里内没有摄像机"))
    out.append(html.H4("处置记录"))
    out.append(html.Ol([html.Li(f"{h['at']} {h['actor']} → {h['to']} {h['note']}") for h in d["history"]],
                       className="pa-duty-hist"))
    return out
