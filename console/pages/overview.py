"""总览: the one map with drill-down (city → county → town → village → grid), KPIs and charts.

The shown area lives in the URL (`?area=610924100`) and in a store; clicks update the store on the
client, the server answers with layer URLs, hideouts and KPIs; the browser history is pushed
client-side so the page is not rebuilt on every click, while back/forward and links restore it.
"""

from __future__ import annotations


import dash
import dash_ag_grid as dag
import dash_leaflet as dl
from dash import ALL, ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash_extensions.javascript import Namespace

from console.security import guard
from console.services import choropleth
from console.services import permissions as perm
from console.services import queries, views
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store.codes import CITY_CODE
from console.services.layers import LAYERS, OVERLAY_KEYS

from console.pages import _search
from console.pages import _unmask as unmask_ui
from console.pages import _widgets as w
from console.pages._grid_locale import GRID_LOCALE
from console.pages._basemap import attribution, basemap_layers
from console.pages._overview_ids import ID
from console.pages._overview_view import AreaView, area_view, default_layers, overlay_hideout

dash.register_page(__name__, path="/", title="平安一张图 · 总览", name="总览", order=0)

NS = Namespace("pingan", "map")
SAFETY = Namespace("pingan", "safety")
DEFAULT_BOUNDS = [[31.7, 108.0], [33.8, 110.2]]
MAX_ZOOM = 18
TABLE_TABS = {"households": "住户", "persons": "人员", "cases": "矛盾纠纷"}

def _overlay(key: str, dark: bool) -> dl.GeoJSON:
    layer = LAYERS[key]
    common = dict(id={"type": ID.OVERLAY, "key": key}, hideout=overlay_hideout(key, dark))
    if layer.kind == "point":
        # Clustered up to the map's own maximum zoom: records at one building (a household per flat) stay one
        # bubble there, and a click on it spreads them out (dash-leaflet's spiderfy, `spiderStyle` its legs)
        # instead of stacking markers that hide each other.
        return dl.GeoJSON(**common, cluster=True, zoomToBoundsOnClick=True, spiderfyOnMaxZoom=True,
                          pointToLayer=NS("pointToLayer"), clusterToLayer=NS("clusterToLayer"),
                          onEachFeature=NS("pointEach"), style=NS("spiderStyle"),
                          superClusterOptions={"radius": 60, "maxZoom": MAX_ZOOM})
    if layer.kind == "line":  # 护路护线 (docs/safety.md)
        return dl.GeoJSON(**common, style=SAFETY("lineStyle"), onEachFeature=SAFETY("lineEach"))
    # outlines only: their own pane lets clicks fall through to the area polygons underneath
    return dl.Pane(name="pa-outlines", children=[
        dl.GeoJSON(**common, style=NS("gridStyle"), interactive=False, pane="pa-outlines")])


def initial_view(viewport: dict | None) -> dict:
    """dl.Map's own extent at creation: the area's bounds (fitted as the map is made, so the first frame shows
    the area; assets/pingan_fit.js keeps it fitted while the page around it settles), else the city."""
    if not viewport:
        return {"bounds": DEFAULT_BOUNDS, "boundsOptions": {"padding": [20, 20]}}
    return {"bounds": viewport["bounds"], "boundsOptions": viewport.get("options", {"padding": [20, 20]})}


def _map(dark: bool, first: AreaView | None) -> html.Div:
    viewer = current_viewer()
    allowed = [k for k in OVERLAY_KEYS if viewer.can(LAYERS[k].permission)]
    leaflet = dl.Map(id=ID.MAP, preferCanvas=True, attributionControl=False, trackViewport=False,
                     **initial_view(first.viewport if first else None),
                     minZoom=6, maxZoom=MAX_ZOOM, zoomSnap=0.25, className="pa-leaflet", children=[
        attribution(),
        dl.ScaleControl(position="bottomleft", imperial=False),
        *basemap_layers(),
        dl.GeoJSON(id=ID.AREAS, style=NS("areaStyle"), onEachFeature=NS("areaEach"),
                   hideout=first.area_hide if first else {"dark": dark, "selected": None, "mode": "plain"},
                   **({"data": first.areas} if first else {})),
        *[_overlay(k, dark) for k in OVERLAY_KEYS],
    ])
    switch = dcc.Checklist(id=ID.LAYER_SWITCH, className="pa-layer-switch",
                           options=[{"label": f" {LAYERS[k].title}", "value": k} for k in allowed],
                           value=default_layers(viewer))
    choro = html.Div(id=ID.CHORO_BOX, style=first.choro_style if first else {"display": "none"}, children=[
        html.Hr(), html.Div("实有人口着色", className="pa-legend-title"),
        dcc.RadioItems(id=ID.CHORO_MODE, className="pa-choro-switch", value=choropleth.DEFAULT_MODE,
                       options=[{"label": f"{v[0]}（{v[1]}）", "value": k} for k, v in choropleth.MODES.items()])])
    panel = html.Div(className="pa-map-panel", children=[
        html.Div("图层", className="pa-legend-title"), switch, choro, html.Hr(),
        html.Div(id=ID.LEGEND)])  # filled from LEGEND_HTML
    return html.Div(className="pa-map-box", children=[leaflet, panel])


def layout(area: str | None = None, **_query) -> html.Div:
    """The page, already showing the requested area (no round trip before the first view is drawn)."""
    dark = current_context().settings.theme == "dark"
    viewer = current_viewer()
    requested = (area or "").strip()[:20] or None
    first = area_view(current_context(), viewer, requested, default_layers(viewer), dark) \
        if viewer.permissions else None  # anonymous (no request): nothing to show; the gate sends browsers to /login
    return html.Div(className="pa-overview", children=[
        # Stores start with a value: a memory dcc.Store mounted without one sets itself to null, which counts as
        # a change and would fire the callbacks that read it (a round trip for nothing).
        dcc.Store(id=ID.AREA, data=requested or (first.code if first else "")),
        dcc.Store(id=ID.RESOLVED, data=first.code if first else None),
        dcc.Store(id=ID.TABLE_AREA, data=""),
        dcc.Store(id=ID.CHART_AREA, data=""),
        dcc.Store(id=ID.CHART_FIGURES),
        dcc.Store(id=ID.CHART_DRAWN),
        dcc.Store(id=ID.PREFETCH, data=""),
        dcc.Store(id=ID.KPIS_HTML, data=first.kpis if first else ""),
        dcc.Store(id=ID.LEGEND_HTML, data=first.legend if first else ""),
        dcc.Store(id=ID.PANELS_DRAWN, data=""),
        dcc.Store(id=ID.OVERLAY_URLS, data=first.urls if first else None),
        html.Div(className="pa-topline", children=[
            html.Nav(id=ID.CRUMBS, className="pa-crumbs", children=first.crumbs if first else None),
            html.H2(id=ID.HEADING, className="pa-heading", children=first.heading if first else None),
            _search.box()]),
        html.Div(id=ID.MESSAGE, className="pa-message", role="status", children=first.message if first else None),
        html.Div(className="pa-body", children=[
            html.Div(className="pa-left", children=[
                _map(dark, first),
                html.Div(id=ID.TABLE_BOX, className="pa-table-box", style={"display": "none"}, children=[
                    dcc.Tabs(id=ID.TABLE_TABS, value="households", className="pa-tabs",
                             children=[dcc.Tab(label=v, value=k) for k, v in TABLE_TABS.items()]),
                    html.Div(id=ID.TABLE_NOTE, className="pa-table-note"),
                    # the grid is created only at grid level, so other views do not download AG Grid's chunk
                    html.Div(id=ID.TABLE),
                ]),
            ]),
            html.Aside(className="pa-right", children=[
                html.Div(id=ID.KPIS, className="pa-kpis"),  # filled from KPIS_HTML
                # Plain divs: Plotly draws them clientside after the step is painted (assets/pingan_lazy.js),
                # so its 1.1 MB is neither fetched nor parsed during the first view.
                html.Div(id=ID.TREND, className="pa-chart"),
                html.Div(id=ID.BREAKDOWN, className="pa-chart"),
            ]),
        ]),
    ])


# A click on an area polygon or a breadcrumb changes the requested area, without a server round trip.
clientside_callback(
    """function(click, crumbs, current) {
        const ctx = window.dash_clientside.callback_context;
        const nu = window.dash_clientside.no_update;
        if (!ctx.triggered || !ctx.triggered.length) { return nu; }
        const tid = ctx.triggered_id;
        let code = null;
        if (tid === '%s') {
            code = click && click.properties && click.properties.code;
        } else if (tid && tid.code && ctx.triggered[0].value) {
            code = tid.code;
        }
        if (!code || code === current) { return nu; }
        return code;
    }""" % ID.AREAS,
    Output(ID.AREA, "data"), Input(ID.AREAS, "clickData"), Input({"type": ID.CRUMB, "code": ALL}, "n_clicks"),
    State(ID.RESOLVED, "data"), prevent_initial_call=True,
)

# Keep the address bar in step with the area shown (push on navigation, replace a bad code).
clientside_callback(
    """function(code) {
        if (!code) { return window.dash_clientside.no_update; }
        const params = new URLSearchParams(window.location.search);
        const before = params.get('area');
        if (before === code || (!before && code === '%s')) { return window.dash_clientside.no_update; }
        params.set('area', code);
        const url = window.location.pathname + '?' + params.toString();
        if (before && !window.__paNavigated) { window.history.replaceState(null, '', url); }
        else { window.history.pushState(null, '', url); }
        window.__paNavigated = true;
        return window.dash_clientside.no_update;
    }""" % CITY_CODE,
    Output(ID.MESSAGE, "title"), Input(ID.RESOLVED, "data"),
)


@callback(
    Output(ID.RESOLVED, "data"), Output(ID.CRUMBS, "children"), Output(ID.HEADING, "children"),
    Output(ID.MESSAGE, "children"), Output(ID.MAP, "viewport"),
    Output(ID.AREAS, "data"), Output(ID.AREAS, "hideout"),
    Output(ID.OVERLAY_URLS, "data"), Output({"type": ID.OVERLAY, "key": ALL}, "hideout"),
    Output(ID.LEGEND_HTML, "data"), Output(ID.KPIS_HTML, "data"), Output(ID.CHORO_BOX, "style"),
    Input(ID.AREA, "data"), Input(ID.LAYER_SWITCH, "value"), Input("app-theme", "data"), Input(ID.CHORO_MODE, "value"),
    State(ID.AREAS, "hideout"), State({"type": ID.OVERLAY, "key": ALL}, "hideout"),
    prevent_initial_call=True,  # the layout already shows its area (`layout` → `area_view`)
)
def show_area(requested, on, theme, mode, area_hide_now, overlay_hides_now):
    """One round trip per drill step: map state, the area polygons themselves (no second request for them)
    and the KPI panel. The point layers' URLs and the charts follow once the step is painted."""
    v = area_view(current_context(), current_viewer(), requested, on, theme == "dark", mode=mode,
                  area_hide_now=area_hide_now, overlay_hides_now=overlay_hides_now,
                  area_changed=_triggered_by(ID.AREA), legend=_triggered_by(ID.LAYER_SWITCH))
    return (v.code, v.crumbs, v.heading, v.message, v.viewport, v.areas, v.area_hide, v.urls, v.overlay_hides,
            v.legend, v.kpis, v.choro_style)


def _triggered_by(component_id: str) -> bool:
    """True on the first call and when `component_id` is among the triggers (the legend depends only on the
    layer switch, the polygons and KPIs only on the area: do not re-send them on other changes)."""
    trig = [t["prop_id"] for t in dash.callback_context.triggered or []]
    return not trig or any(t.startswith(component_id + ".") or t == "." for t in trig)


# The KPI panel and the legend are static markup, escaped on the server (pages/_static_html.py): put in place
# as HTML rather than as ~180 Dash components that dash-renderer would re-check on every store update.
clientside_callback(
    """function(kpis, legend) {
        [['%s', kpis], ['%s', legend]].forEach(function(pair) {
            const el = document.getElementById(pair[0]);
            if (el && typeof pair[1] === 'string' && el.__paHtml !== pair[1]) { el.innerHTML = pair[1]; el.__paHtml = pair[1]; }
        });
        return window.dash_clientside.no_update;
    }""" % (ID.KPIS, ID.LEGEND),
    Output(ID.PANELS_DRAWN, "data"), Input(ID.KPIS_HTML, "data"), Input(ID.LEGEND_HTML, "data"),
)


# The point layers and the charts follow the shown area once the browser has painted the step's polygons,
# labels and KPIs (two animation frames): their downloads, clustering and Plotly's drawing never delay those.
AFTER_PAINT = """function(value) {
    if (value === null || value === undefined) { return window.dash_clientside.no_update; }
    return new Promise(function(resolve) {
        requestAnimationFrame(function() { requestAnimationFrame(function() { setTimeout(function() {
            resolve(value); }, 0); }); });
    });
}"""
clientside_callback(AFTER_PAINT, Output(ID.CHART_AREA, "data"), Input(ID.RESOLVED, "data"))
clientside_callback(AFTER_PAINT, Output({"type": ID.OVERLAY, "key": ALL}, "url"), Input(ID.OVERLAY_URLS, "data"))


@callback(Output(ID.CHART_FIGURES, "data"), Input(ID.CHART_AREA, "data"), Input("app-theme", "data"))
def show_charts(code, theme):
    """Figures for the step's area, asked for after the map and KPIs are painted (see CHART_AREA)."""
    ctx, viewer = current_context(), current_viewer()
    if not code or not viewer.can(perm.VIEW_KPI):
        return {ID.TREND: {}, ID.BREAKDOWN: {}}
    k = views.area_kpis(ctx, viewer, views.resolve_area(ctx, viewer, code).node)
    dark = theme == "dark"
    return {ID.TREND: w.trend_figure(k["dispute_trend"], dark), ID.BREAKDOWN: w.breakdown_figure(k, dark)}


clientside_callback(ClientsideFunction("pingan_charts", "draw"), Output(ID.CHART_DRAWN, "data"),
                    Input(ID.CHART_FIGURES, "data"))


# The grid table exists only at grid level: a store that changes only when the grid shown changes, so that
# the other drill steps make no round trip for it (and AG Grid is fetched only when a grid is opened); like
# the charts, it follows once the step's map and KPIs are painted.
clientside_callback(
    """function(code, current) {
        const grid = code && code.length === 15 ? code : null;
        if (grid === (current || null)) { return window.dash_clientside.no_update; }
        return new Promise(function(resolve) {
            requestAnimationFrame(function() { requestAnimationFrame(function() { setTimeout(function() {
                resolve(grid); }, 0); }); });
        });
    }""",
    Output(ID.TABLE_AREA, "data"), Input(ID.RESOLVED, "data"), State(ID.TABLE_AREA, "data"),
)


# Below a town the path leads to grids, whose table needs AG Grid (1.3 MB of script and a 0.25 MB chunk):
# fetch and run both while the browser is idle on the town or village, so that neither the grid step nor
# the one after it waits for them.
clientside_callback(
    """function(code) {
        const lazy = window.pingan && window.pingan.lazy;
        if (!code || code.length < 9 || !lazy) { return window.dash_clientside.no_update; }
        const idle = window.requestIdleCallback || function(f) { return setTimeout(f, 200); };
        idle(function() { lazy.prefetchAgGrid().catch(function() { return null; }); }, {timeout: 1500});
        return code;
    }""",
    Output(ID.PREFETCH, "data"), Input(ID.RESOLVED, "data"),
)


def _table(rows: list[dict]) -> dag.AgGrid:
    return dag.AgGrid(id=unmask_ui.ID.GRID, rowData=rows,
                      columnDefs=[{"field": f, "headerName": f} for f in (rows[0] if rows else []) if f[0] != "_"],
                      className="pa-grid", dashGridOptions={"pagination": True, "paginationPageSize": 50,
                                                            "localeText": GRID_LOCALE,
                                                            "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                                             "enableClickSelection": True}},
                      defaultColDef={"resizable": True, "sortable": True, "filter": True})


@callback(
    Output(ID.TABLE_BOX, "style"), Output(ID.TABLE, "children"), Output(ID.TABLE_NOTE, "children"),
    Input(ID.TABLE_AREA, "data"), Input(ID.TABLE_TABS, "value"),
    prevent_initial_call=True,  # the table appears when TABLE_AREA becomes a grid (after the step is painted)
)
def show_grid_table(code, tab):
    if not code or len(code) != 15:
        # Hidden, not torn down: unmounting AG Grid with its rows cost the step after a grid view ~100-300 ms;
        # the next grid view updates the same table in place.
        return {"display": "none"}, no_update, no_update
    ctx, viewer = current_context(), current_viewer()
    need = perm.VIEW_CASES if tab == "cases" else perm.VIEW_PERSONS
    if not viewer.can(need):
        return {"display": "block"}, None, "无权查看该列表"
    # A grid's people/household/case list is a sensitive read: audited, scoped, and masked for everyone;
    # a full value is one audited request per record and field (选中一行 →「显示…」, console/pages/_unmask.py).
    obj = f"grid:{code}:{tab}"
    guard.require_area(viewer, code, obj)
    guard.audit(viewer, "record.view", obj, detail={"permission": need, "area": code})
    with ctx.session() as s:
        if tab == "persons":
            rows = queries.grid_persons(s, viewer.scope, code)
        elif tab == "cases":
            rows = queries.grid_cases(s, viewer.scope, code)
        else:
            rows = queries.grid_households(s, viewer.scope, code)
    note = f"共 {len(rows)} 条" + ("" if tab == "cases" else "；身份证号、电话、地址已脱敏")
    if len(rows) >= queries.TABLE_LIMIT:
        note += f"（仅显示前 {queries.TABLE_LIMIT} 条）"
    table = _table(rows)
    bar = unmask_ui.grid_bar(tab)
    return {"display": "block"}, (html.Div([table, bar]) if bar is not None else table), note
