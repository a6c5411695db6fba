"""突发事件指挥: raise an alert to an incident at a level of the response plan, then see what the console
assembles for it — the nearest online cameras on a wall, the grid workers around it (phones masked), key places
and 护路护线 within the level's radius, the timeline — log actions, change the level, close it, print the handover.

Thin callbacks over `console.safety.incidents` (writes, audited) and `console.services.incident` (the assembly).
Opened as /incident (active incidents), /incident?alert=<id> (raise) or /incident?id=<id> (command)."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update
from flask import current_app

from console.duty.feed import local
from console.routes.video import INDEX_KEY, platform_client, video_settings
from console.safety import incidents, response_plan
from console.security.guard import AccessDenied
from console.security.permissions import INCIDENT_COMMAND, VIDEO_PTZ, VIEW_VIDEO
from console.services import incident as assembly
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store import Alert
from console.store.codes import ALERT_SEVERITIES
from console.video.service import CameraIndex

from console.pages._unmask import reveal_control

dash.register_page(__name__, path="/incident", title="平安一张图 · 突发事件", name="突发事件")

LEVEL_OPTIONS = [{"label": lv.label, "value": k} for k, lv in response_plan.LEVELS.items()]


class ID:
    INCIDENT = "inc-id"
    ALERT = "inc-alert"
    REFRESH = "inc-refresh"
    LEVEL = "inc-level"
    NOTE = "inc-note"
    RAISE = "inc-raise"
    RAISE_MSG = "inc-raise-msg"
    TOP = "inc-top"
    WALL_BOX = "inc-wall-box"
    BODY = "inc-body"
    LOG_NOTE = "inc-log-note"
    LOG = "inc-log"
    NEW_LEVEL = "inc-new-level"
    SET_LEVEL = "inc-set-level"
    CLOSE = "inc-close"
    CMD_MSG = "inc-cmd-msg"
    PRINT = "inc-print"


def _refusal(exc: Exception) -> str:
    if isinstance(exc, AccessDenied):
        return "无权操作：需要“启动/结束突发事件响应”权限，且事件须在您的数据范围内（已记录）。"
    return str(exc)


def _raise_form(alert_id: int) -> html.Div:
    """The raise form for one alert in the viewer's scope (its level proposed by the plan), or why not."""
    viewer = current_viewer()
    with current_context().session() as s:
        alert = s.get(Alert, alert_id)
        if alert is None or not viewer.scope.allows(alert.finest_area):
            return html.P("该预警不存在或不在您的数据范围内。", className="pa-duty-msg", role="alert")
        detail = alert.title, ALERT_SEVERITIES.get(alert.severity, alert.severity), local(alert.raised_at)
        suggested = response_plan.suggest(alert.severity)
    if not viewer.can(INCIDENT_COMMAND):
        return html.P("您没有启动突发事件响应的权限（由值班员启动）。", className="pa-duty-msg")
    return html.Div(className="pa-card pa-incident-raise", children=[
        html.H3("升级为突发事件"),
        html.P(f"预警：{detail[0]}（{detail[1]}，{detail[2]}）", id="inc-alert-title"),
        html.Label(["响应级别（应急预案）", dcc.Dropdown(id=ID.LEVEL, options=LEVEL_OPTIONS, value=suggested,
                                                   clearable=False, className="pa-dd")]),
        dcc.Textarea(id=ID.NOTE, className="pa-duty-input", placeholder="启动说明（可选）"),
        html.Button("启动响应", id=ID.RAISE, className="pa-btn pa-primary"),
        html.Div(id=ID.RAISE_MSG, className="pa-duty-msg", role="alert"),
    ])


def _active_list() -> html.Div:
    viewer = current_viewer()
    with current_context().session() as s:
        rows = incidents.active(s, viewer.scope)
        items = [html.Li(dcc.Link(f"{response_plan.LEVELS[r.level].label} {r.title}（{local(r.raised_at)}）",
                                  href=f"/incident?id={r.id}")) for r in rows]
    return html.Div(className="pa-card", children=[html.H3(f"处置中的突发事件（{len(items)}）"),
                                                   html.Ul(items) if items else html.P("当前没有处置中的突发事件。")])


def _command_panel() -> html.Div:
    return html.Div(className="pa-card pa-incident-cmd", children=[
        html.H4("指挥处置"),
        dcc.Textarea(id=ID.LOG_NOTE, className="pa-duty-input", placeholder="处置记录（如：已调派城关派出所民警 6 人到场）"),
        html.Button("记录", id=ID.LOG, className="pa-btn"),
        dcc.Dropdown(id=ID.NEW_LEVEL, options=LEVEL_OPTIONS, placeholder="调整响应级别", className="pa-dd"),
        html.Button("调整级别", id=ID.SET_LEVEL, className="pa-btn"),
        html.Button("结束响应", id=ID.CLOSE, className="pa-btn"),
        html.Button("打印交接报告", id=ID.PRINT, className="pa-btn"),
        html.Div(id=ID.CMD_MSG, className="pa-duty-msg", role="alert"),
    ])


def layout(id: str = "", alert: str = "", **_query) -> html.Div:  # noqa: A002 - the query parameter's name
    incident_id = int(id) if id.isdigit() else None
    alert_id = int(alert) if alert.isdigit() else None
    if incident_id is None and alert_id is not None:  # already raised: open its command view
        with current_context().session() as s:
            existing = incidents.incident_of_alert(s, current_viewer().scope, alert_id)
        incident_id = existing
    top = (_raise_form(alert_id) if alert_id is not None and incident_id is None
           else _active_list() if incident_id is None else None)
    return html.Div(className="pa-incident", children=[
        dcc.Store(id=ID.INCIDENT, data=incident_id), dcc.Store(id=ID.ALERT, data=alert_id),
        dcc.Store(id=ID.REFRESH, data=0),
        html.Div(className="pa-duty-bar", children=[html.H2("突发事件指挥", className="pa-heading")]),
        html.Div(top, id=ID.TOP),
        html.Div(className="pa-incident-body", children=[
            html.Div(id=ID.WALL_BOX, className="pa-incident-wall"),
            html.Aside(className="pa-incident-side", children=[
                html.Div(id=ID.BODY),
                html.Div(_command_panel(), id="inc-cmd-box",
                         style={"display": "block" if incident_id else "none"}),
            ]),
        ]),
    ])


@callback(Output(ID.INCIDENT, "data"), Output(ID.RAISE_MSG, "children"), Output(ID.TOP, "style"),
          Input(ID.RAISE, "n_clicks"),
          State(ID.ALERT, "data"), State(ID.LEVEL, "value"), State(ID.NOTE, "value"), prevent_initial_call=True)
def raise_incident(_n, alert_id, level, note):
    if not isinstance(alert_id, int):
        return no_update, "请先从值班台选择一条预警。", no_update
    ctx = current_context()
    try:
        with ctx.session() as s, s.begin():
            inc = incidents.raise_incident(s, current_viewer(), alert_id, level, note or "",
                                           ctx.security.settings.clock())
            new_id = inc.id
    except (incidents.IncidentError, response_plan.LevelError, AccessDenied) as exc:
        return no_update, _refusal(exc), no_update
    return new_id, "", {"display": "none"}


@callback(Output(ID.REFRESH, "data"), Output(ID.CMD_MSG, "children"), Output(ID.LOG_NOTE, "value"),
          Input(ID.LOG, "n_clicks"), Input(ID.SET_LEVEL, "n_clicks"), Input(ID.CLOSE, "n_clicks"),
          State(ID.INCIDENT, "data"), State(ID.LOG_NOTE, "value"), State(ID.NEW_LEVEL, "value"),
          State(ID.REFRESH, "data"), prevent_initial_call=True)
def command(_log, _level, _close, incident_id, note, level, refresh):
    if not isinstance(incident_id, int):
        return no_update, "请先启动或打开一个突发事件。", no_update
    ctx = current_context()
    viewer, now, which = current_viewer(), ctx.security.settings.clock(), dash.ctx.triggered_id
    try:
        with ctx.session() as s, s.begin():
            if which == ID.LOG:
                incidents.log_action(s, viewer, incident_id, note, now)
            elif which == ID.SET_LEVEL:
                incidents.change_level(s, viewer, incident_id, level, note, now)
            elif which == ID.CLOSE:
                incidents.close(s, viewer, incident_id, note, now)
            else:
                return no_update, no_update, no_update
    except (incidents.IncidentError, response_plan.LevelError, AccessDenied) as exc:
        return no_update, _refusal(exc), no_update
    return (refresh or 0) + 1, "", ""


@callback(Output(ID.WALL_BOX, "children"), Output(ID.BODY, "children"), Output("inc-cmd-box", "style"),
          Input(ID.INCIDENT, "data"), Input(ID.REFRESH, "data"))
def show_incident(incident_id, _refresh):
    if not isinstance(incident_id, int):
        return no_update, no_update, no_update
    viewer = current_viewer()
    ctx = current_context()
    settings = video_settings()
    try:
        with ctx.session() as s:
            index = current_app.config[INDEX_KEY].get_or_set("index", lambda: CameraIndex.load(s)) \
                if viewer.can(VIEW_VIDEO) else None
            a = assembly.assemble(s, viewer, incident_id, index, settings.max_streams)
    except (incidents.IncidentError, AccessDenied):
        return None, html.P("该突发事件不存在或不在您的数据范围内。", className="pa-duty-msg", role="alert"), \
            {"display": "none"}
    wall = _wall(a, settings) if dash.ctx.triggered_id != ID.REFRESH else no_update
    command_style = {"display": "block" if a["state"] == "active" and viewer.can(INCIDENT_COMMAND) else "none"}
    return wall, _render(a), command_style


def _wall(a: dict, settings) -> html.Div | None:
    """The wall (assets/pingan_video.js runs any #video-wall): the level's number of windows, filled with the
    nearest online cameras of the incident's alert."""
    if not a["cameras"]:
        return html.P(a["camera_note"] or "附近没有在线摄像机。", className="pa-video-notice")
    lv = response_plan.LEVELS[a["level"]]
    return html.Div([
        html.Div([html.Span(id="video-status", className="pa-video-status", role="status"),
                  dcc.Link("在视频页打开", href=a["wall_url"], className="pa-btn")], className="pa-incident-wall-bar"),
        html.Div(id="video-wall", className="pa-video-wall", **{
            "data-max-streams": str(settings.max_streams), "data-stall-seconds": str(settings.stall_seconds),
            "data-layout": str(lv.cameras), "data-alert": str(a["alert_id"]),
            # domes on the incident wall can be steered by the duty desk (docs/video.md "Platform API")
            "data-ptz": "1" if platform_client() is not None and current_viewer().can(VIDEO_PTZ) else "0"}),
    ])


def _dl(pairs) -> html.Dl:
    return html.Dl([x for k, v in pairs for x in (html.Dt(k), html.Dd(v if v not in (None, "") else "—"))])


def _render(a: dict) -> list:
    out = [html.H3(a["title"], id="inc-title"),
           _dl([("响应级别", html.Span(a["level_label"], id="inc-level-label")), ("状态", a["state_label"]),
                ("牵头", a["lead"]), ("首报时限", f"{a['report_minutes']} 分钟"), ("位置", a["place"]),
                ("网格", a["grid"]), ("启动（北京）", f"{local(a['raised_at'], '%Y-%m-%d %H:%M')} {a['raised_by']}")]),
           html.H4(f"周边网格员（{a['radius_m']} 米内，{len(a['workers'])} 人）"),
           html.Ul([html.Li([f"{w['grid']} {w['role']} {w['name']}（{w['distance_m']} 米）",
                             reveal_control("worker", w["id"], w["phone"], field="phone")]) for w in a["workers"]],
                   id="inc-workers") if a["workers"] else html.P("—"),
           html.H4(f"周边重点场所（{len(a['places'])} 处）"),
           html.Ul([html.Li(f"{p['name']}（{p['kind_label']}，{p['risk_label']}，{p['distance_m']} 米）")
                    for p in a["places"]], id="inc-places") if a["places"] else html.P("—", id="inc-places"),
           html.H4("护路护线"),
           html.Ul([html.Li(f"{x['name']}（{x['distance_m']} 米）") for x in a["lines"]]) if a["lines"] else html.P("—"),
           html.H4(f"上墙摄像机（{len(a['cameras'])} 台）"),
           html.Ul([html.Li(f"{c['name']}（{c['distance_m']} 米{'' if c['faces'] else '，背向'}）") for c in a["cameras"]],
                   id="inc-cameras") if a["cameras"] else html.P(a["camera_note"] or "—"),
           html.H4("处置时间线"),
           html.Ol([html.Li(f"{local(t['at'])} {t['actor']} {t['kind_label']}：{t['note']}") for t in a["timeline"]],
                   id="inc-timeline", className="pa-duty-hist")]
    report = [html.H2("突发事件交接报告")] + [x for title, lines in assembly.handover_report(a)
                                          for x in (html.H4(title), html.Ul([html.Li(t) for t in lines]))]
    out.append(html.Div(report, id="inc-report", className="pa-incident-report"))
    return out


clientside_callback(ClientsideFunction("safety", "printReport"), Output(ID.PRINT, "title"),
                    Input(ID.PRINT, "n_clicks"), prevent_initial_call=True)
