"""大屏: the command hall's wall — a live alert banner (未签收 count, how long the oldest has waited, a clock,
数据截至) above a rotating dashboard in large type (全市态势 → 预警处置 → 矛盾纠纷 → 县区排名).

Aggregates only, so the wall account (display:wall) may open it. The rotation interval comes from the settings
(PINGAN_KIOSK_SECONDS) or the address (`/hall?interval=30`), the clock ticks in the browser
(assets/pingan_hall.js), and each panel is read fresh from the server when it comes up (docs/console.md).
"""

from __future__ import annotations

from datetime import datetime

import dash
from dash import Input, Output, State, callback, dcc, html

from console.safety import incidents
from console.services import hall, hall_stats, replica, views
from console.services.clock import beijing
from console.services.context import current_context
from console.security.permissions import VIEW_ALERTS, WALL_DISPLAY
from console.services.viewer import current_viewer
from console.pages import _widgets as w

dash.register_page(__name__, path="/hall", title="平安一张图 · 大屏", name="大屏")

BANNER_SECONDS = 10


class ID:
    BANNER = "hall-banner"
    BANNER_TICK = "hall-banner-tick"
    PANEL = "hall-panel"
    PANEL_NAME = "hall-panel-name"  # the panel shown (store)
    ROTATE = "hall-rotate"
    DOTS = "hall-dots"
    UNACK = "hall-unack"
    WAITED = "hall-waited"
    AS_OF = "hall-as-of"
    AS_OF_NOTE = "hall-as-of-note"
    INCIDENTS = "hall-incidents"


def sees_alert_counts(viewer) -> bool:
    """Alert figures (counts only) for the duty roles and the wall; a leader without alerts sees 「—」."""
    return viewer.can(VIEW_ALERTS) or viewer.can(WALL_DISPLAY)


def _banner(viewer) -> list:
    ctx, read = replica.wall_read(current_context())  # the replica when one is set and current enough
    now = datetime.utcnow()
    if sees_alert_counts(viewer):
        with ctx.session() as s:
            b = hall.banner(s, viewer.scope, now)
            active, top = incidents.active_summary(s, viewer.scope)  # 突发事件 (docs/safety.md)
        count, waited = str(b.unacknowledged), hall.since_text(b.waited())
        tone = " pa-hall-hot" if b.unacknowledged else ""
        active_text = f"{active}（最高{top}）" if active else "0"
    else:
        count, waited, tone, active, active_text = "—", "—", "", 0, "—"
    return [
        html.Div(className="pa-hall-item" + tone, children=[
            html.Span("未签收预警", className="pa-hall-label"), html.Strong(count, id=ID.UNACK, className="pa-hall-num")]),
        html.Div(className="pa-hall-item", children=[
            html.Span("最早一条已等待", className="pa-hall-label"), html.Strong(waited, id=ID.WAITED)]),
        html.Div(className="pa-hall-item" + (" pa-hall-hot" if active else ""), children=[
            html.Span("处置中突发事件", className="pa-hall-label"), html.Strong(active_text, id=ID.INCIDENTS)]),
        html.Div(className="pa-hall-item", children=[
            html.Span(f"北京时间 {beijing(now, '%Y-%m-%d')}", className="pa-hall-label"),
            html.Strong(beijing(now, "%H:%M:%S"), className="pa-hall-clock")]),
        html.Div(className="pa-hall-item" + (" pa-hall-hot" if read.as_of is not None else ""), children=[
            html.Span("数据截至", className="pa-hall-label"),
            html.Strong(beijing(replica.as_of_time(read, now), "%H:%M:%S"), id=ID.AS_OF),
            html.Span(read.note(), id=ID.AS_OF_NOTE, className="pa-hall-note") if read.note() else None]),
    ]


def _big(label: str, value: str, note: str = "") -> html.Div:
    return html.Div(className="pa-hall-stat", children=[
        html.Div(value, className="pa-hall-value"), html.Div(label, className="pa-hall-label"),
        html.Div(note, className="pa-hall-note") if note else None])


def _compare_note(c: hall_stats.Comparison) -> str:
    return f"{c.month[0]}年{c.month[1]}月 {c.current} 件 · 环比 {hall_stats.percent_text(c.mom)} · 同比 {hall_stats.percent_text(c.yoy)}"


def panel(name: str, viewer) -> html.Div:
    """One panel of the rotation, read now (from the replica when one is set and current enough)."""
    ctx, _read = replica.wall_read(current_context())
    node = views.resolve_area(ctx, viewer, None).node
    now = datetime.utcnow()
    title = hall.PANEL_TITLES[name]
    body: list = []
    with ctx.session() as s:
        if name == "overview":
            k = views.area_kpis(ctx, viewer, node)
            d = k["disputes"]
            body = [_big("实有人口", w.fmt_int(k["residents"]["total"])), _big("网格", w.fmt_int(k["grids"]["grids"])),
                    _big("网格员", w.fmt_int(k["grids"]["workers"])), _big("特殊人群", w.fmt_int(k["special"]["total"])),
                    _big("在办纠纷", w.fmt_int(d["open"])), _big("纠纷化解率", w.fmt_pct(d["resolution_rate"])),
                    _big("视频在线率", w.fmt_pct(k["cameras"]["online_rate"]))]
            title = f"{node.name} · {title}"
        elif name == "alerts":
            if sees_alert_counts(viewer):
                states = hall.alert_states(s, viewer.scope)
                c = hall_stats.comparisons(s, viewer.scope, now, ["alerts"])["alerts"]
                body = [_big(label, str(n)) for label, n in states.items()] + [
                    _big("上月预警", str(c.current), _compare_note(c))]
            else:
                body = [html.Div("暂无权限查看预警汇总", className="pa-hall-empty")]
        elif name == "disputes":
            states = hall.dispute_states(s, viewer.scope)
            c = hall_stats.comparisons(s, viewer.scope, now, ["disputes"])["disputes"]
            body = [_big(label, str(n)) for label, n in states.items()] + [
                _big("上月登记", str(c.current), _compare_note(c))]
        else:
            ranked = hall_stats.county_ranking(s, viewer.scope, now)
            y, m = hall_stats.last_complete_month(now)
            title = f"{title}（{y}年{m}月 新增矛盾纠纷）"
            body = [html.Table(className="pa-hall-table", children=[
                html.Thead(html.Tr([html.Th("名次"), html.Th("县区"), html.Th("新增纠纷"), html.Th("在办纠纷"),
                                    html.Th("事件")])),
                html.Tbody([html.Tr([html.Td(r.rank), html.Td(r.name), html.Td(r.value), html.Td(r.detail["open"]),
                                     html.Td(r.detail["events"])]) for r in ranked[:10]])])] if ranked else [
                html.Div("暂无数据", className="pa-hall-empty")]
    return html.Div(className=f"pa-hall-panel pa-hall-{name}", **{"data-panel": name}, children=[
        html.H2(title, className="pa-hall-title"), html.Div(body, className="pa-hall-body")])


def _dots(name: str) -> list:
    return [html.Span(hall.PANEL_TITLES[p], className="pa-hall-dot" + (" pa-on" if p == name else ""))
            for p in hall.PANELS]


def layout(interval: str | None = None, panel_name: str | None = None, **_query) -> html.Div:
    viewer = current_viewer()
    seconds = hall.interval_seconds(interval if interval is not None else current_context().settings.kiosk_seconds)
    first = panel_name if panel_name in hall.PANELS else hall.PANELS[0]
    return html.Div(className="pa-hall", children=[
        dcc.Store(id=ID.PANEL_NAME, data=first),
        dcc.Interval(id=ID.BANNER_TICK, interval=BANNER_SECONDS * 1000),
        dcc.Interval(id=ID.ROTATE, interval=seconds * 1000),
        html.Div(id=ID.BANNER, className="pa-hall-banner", role="status", children=_banner(viewer)),
        html.Div(id=ID.PANEL, className="pa-hall-stage", children=panel(first, viewer)),
        html.Div(id=ID.DOTS, className="pa-hall-dots", children=_dots(first)),
    ])


@callback(Output(ID.BANNER, "children"), Input(ID.BANNER_TICK, "n_intervals"), prevent_initial_call=True)
def refresh_banner(_n):
    return _banner(current_viewer())


@callback(Output(ID.PANEL, "children"), Output(ID.PANEL_NAME, "data"), Output(ID.DOTS, "children"),
          Input(ID.ROTATE, "n_intervals"), State(ID.PANEL_NAME, "data"), prevent_initial_call=True)
def rotate(_n, current):
    name = hall.next_panel(current)
    return panel(name, current_viewer()), name, _dots(name)

