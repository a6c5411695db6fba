"""态势研判: a heat map of events, alerts and disputes (counted 500 m cells, never records), 环比 / 同比 for the last
complete month, and the county ranking (docs/console.md, 指挥大厅).

The heat layer is the vendored Leaflet.heat (assets/vendor/leaflet-heat.js) fed through a dl.GeoJSON filter
function in the `pingan.hall` namespace (assets/pingan_hall.js).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dash
import dash_leaflet as dl
from dash import Input, Output, callback, dcc, html
from dash_extensions.javascript import Namespace

from console.pages._basemap import attribution, basemap_layers
from console.security.permissions import LAYER_DISPUTES, VIEW_ALERTS, VIEW_KPI, WALL_DISPLAY
from console.services import geo, hall_stats, replay, views
from console.services.context import current_context
from console.services.viewer import current_viewer

dash.register_page(__name__, path="/analysis", title="平安一张图 · 态势研判", name="态势研判")

NS = Namespace("pingan", "hall")
PERIODS = {"30": "近 30 天", "90": "近 90 天", "365": "近一年"}


class ID:
    MAP = "an-map"
    HEAT = "an-heat"
    KIND = "an-kind"
    PERIOD = "an-period"
    CAPTION = "an-caption"
    COMPARE = "an-compare"
    RANKING = "an-ranking"


def heat_kinds(viewer) -> dict[str, str]:
    """The kinds this viewer may see as a heat map: alerts and events for the duty roles and the wall (counts
    only), disputes for whoever sees the dispute layer."""
    kinds = {}
    if viewer.can(VIEW_ALERTS) or viewer.can(WALL_DISPLAY):
        kinds.update({"events": "事件", "alerts": "预警"})
    if viewer.can(LAYER_DISPUTES):
        kinds["disputes"] = "矛盾纠纷"
    return kinds


def heat_data(viewer, kind: str, days: int, now: datetime | None = None) -> tuple[dict, int]:
    """(FeatureCollection of cells with a leading reset feature, total count) — see assets/pingan_hall.js."""
    now = now or datetime.utcnow()
    ctx = current_context()
    with ctx.session() as s:
        cells = replay.activity(s, viewer.scope, [kind], now - timedelta(days=days), now)[kind]
    top = max((n for *_, n in cells), default=1)
    node = views.resolve_area(ctx, viewer, None).node
    reset = geo.feature(geo.point((node.bbox[0] + node.bbox[2]) / 2, (node.bbox[1] + node.bbox[3]) / 2),
                        {"reset": True, "max": max(1, round(top * 0.6))})
    feats = [reset] + [geo.feature(geo.point(lon, lat), {"n": n}) for lon, lat, n in cells]
    return geo.collection(feats), sum(n for *_, n in cells)


def _compare_cards(viewer) -> html.Div:
    kinds = [k for k in hall_stats.KINDS if k in heat_kinds(viewer)]
    ctx = current_context()
    with ctx.session() as s:
        comps = hall_stats.comparisons(s, viewer.scope, datetime.utcnow(), kinds)
    cards = []
    for kind, c in comps.items():
        cards.append(html.Div(className="pa-an-card", **{"data-kind": kind}, children=[
            html.Div(f"{hall_stats.KINDS[kind][0]} · {c.month[0]}年{c.month[1]}月", className="pa-an-card-title"),
            html.Div(f"{c.current:,}", className="pa-an-value"),
            html.Div([html.Span("环比 "), html.Strong(hall_stats.percent_text(c.mom), className="pa-an-mom"),
                      html.Span(f"（上月 {c.previous_month:,}）")]),
            html.Div([html.Span("同比 "), html.Strong(hall_stats.percent_text(c.yoy), className="pa-an-yoy"),
                      html.Span(f"（去年同月 {c.previous_year:,}）")]),
        ]))
    return html.Div(cards or [html.Div("暂无数据", className="pa-empty")], id=ID.COMPARE, className="pa-an-cards")


def _ranking(viewer) -> html.Div:
    ctx = current_context()
    now = datetime.utcnow()
    with ctx.session() as s:
        ranked = hall_stats.county_ranking(s, viewer.scope, now)
    y, m = hall_stats.last_complete_month(now)
    rows = [html.Tr([html.Td(r.rank), html.Td(r.name, title=r.code), html.Td(f"{r.value:,}"),
                     html.Td(f"{r.detail['open']:,}"), html.Td(f"{r.detail['events']:,}")]) for r in ranked]
    return html.Div(id=ID.RANKING, className="pa-an-ranking", children=[
        html.H3(f"县区排名（{y}年{m}月新增矛盾纠纷）"),
        html.Table(className="pa-table", children=[
            html.Thead(html.Tr([html.Th("名次"), html.Th("县区"), html.Th("新增纠纷"), html.Th("在办纠纷"),
                                html.Th("事件")])),
            html.Tbody(rows or [html.Tr(html.Td("暂无数据", colSpan=5))])])])


def layout(**_query) -> html.Div:
    viewer = current_viewer()
    if not viewer.can(VIEW_KPI):
        return html.Div("无权查看", className="pa-message")
    kinds = heat_kinds(viewer)
    first_kind = "disputes" if "disputes" in kinds else next(iter(kinds), None)
    node = views.resolve_area(current_context(), viewer, None).node
    data, total = heat_data(viewer, first_kind, 365) if first_kind else (geo.collection([]), 0)
    return html.Div(className="pa-analysis", children=[
        html.H2("态势研判", className="pa-heading"),
        html.Div(className="pa-an-controls", children=[
            dcc.RadioItems(id=ID.KIND, options=[{"label": v, "value": k} for k, v in kinds.items()],
                           value=first_kind, inline=True, className="pa-radio"),
            dcc.RadioItems(id=ID.PERIOD, options=[{"label": v, "value": k} for k, v in PERIODS.items()],
                           value="365", inline=True, className="pa-radio"),
            html.Span(_caption(kinds.get(first_kind, ""), "365", total), id=ID.CAPTION, className="pa-an-caption"),
        ]),
        html.Div(className="pa-an-body", children=[
            html.Div(className="pa-map-box pa-an-map", children=[
                dl.Map(id=ID.MAP, bounds=node.bounds, boundsOptions={"padding": [20, 20]}, preferCanvas=True,
                       center=[(node.bounds[0][0] + node.bounds[1][0]) / 2, (node.bounds[0][1] + node.bounds[1][1]) / 2],
                       zoom=8,  # with `bounds`: dash-leaflet's viewport tracking reads center and zoom on each move
                       attributionControl=False, minZoom=6, maxZoom=18, zoomSnap=0.25, className="pa-leaflet",
                       children=[attribution(), dl.ScaleControl(position="bottomleft", imperial=False),
                                 *basemap_layers(),
                                 dl.GeoJSON(id=ID.HEAT, data=data, filter=NS("heatFilter"), interactive=False)])]),
            html.Aside(className="pa-an-side", children=[_compare_cards(viewer), _ranking(viewer)]),
        ]),
    ])


def _caption(label: str, period: str, total: int) -> str:
    if not label:
        return "暂无可查看的热力数据"
    return f"{PERIODS.get(period, '')}{label}热力：共 {total:,} 件" if total else f"{PERIODS.get(period, '')}暂无{label}"


@callback(Output(ID.HEAT, "data"), Output(ID.CAPTION, "children"), Input(ID.KIND, "value"),
          Input(ID.PERIOD, "value"), prevent_initial_call=True)
def show_heat(kind, period):
    viewer = current_viewer()
    kinds = heat_kinds(viewer)
    if kind not in kinds or period not in PERIODS:  # a forged value: refuse in words, keep the map
        return dash.no_update, "无法显示：请选择列表中的类别和时间范围"
    data, total = heat_data(viewer, kind, int(period))
    return data, _caption(kinds[kind], period, total)
