"""时间回放: a time slider over a chosen day or range (Beijing days) that replays events, alerts and disputes on
the map, drawn over the grid boundaries of the generation in force at that moment (docs/console.md, docs/planner.md).

What happened is shown as counted 500 m cells per kind (console/services/replay.py): where and how many, never
whose — the wall may replay too. Events and alerts need view:alerts or the wall's display:wall, disputes the
dispute layer; every count is inside the viewer's scope.
"""

from __future__ import annotations

from datetime import date, timedelta

import dash
import dash_leaflet as dl
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash_extensions.javascript import Namespace

from console.pages._basemap import attribution, basemap_layers
from console.security.permissions import LAYER_DISPUTES, VIEW_ALERTS, WALL_DISPLAY
from console.services import geo, replay, views
from console.services.areas import children
from console.services.clock import BEIJING, beijing
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store.codes import CITY_CODE

dash.register_page(__name__, path="/replay", title="平安一张图 · 时间回放", name="时间回放")

NS = Namespace("pingan", "hall")
STEPS = {"1": "1 小时", "3": "3 小时", "6": "6 小时", "24": "1 天"}
KIND_LABELS = {k: v[0] for k, v in replay.REPLAY_KINDS.items()}
PLAY_MS = 1200


class ID:
    MAP = "rp-map"
    GRIDS = "rp-grids"
    POINTS = "rp-points"
    AREA = "rp-area"
    FIRST = "rp-first"
    LAST = "rp-last"
    STEP = "rp-step"
    CUMULATIVE = "rp-cumulative"
    SLIDER = "rp-slider"
    PLAY = "rp-play"
    TICK = "rp-tick"
    CAPTION = "rp-caption"
    LEGEND = "rp-legend"


def replay_kinds(viewer) -> list[str]:
    kinds = []
    if viewer.can(VIEW_ALERTS) or viewer.can(WALL_DISPLAY):
        kinds += ["events", "alerts"]
    if viewer.can(LAYER_DISPUTES):
        kinds.append("disputes")
    return kinds


def _areas(viewer) -> list[dict]:
    """The counties (or, for a narrower scope, its own areas) the replay can be drawn for."""
    ctx = current_context()
    home = views.resolve_area(ctx, viewer, None).node
    if home.code == CITY_CODE:
        with ctx.session() as s:
            return [{"label": c.name, "value": c.code} for c in children(s, home)]
    return [{"label": home.name, "value": home.code}]


def _marks(first: date, last: date, step_hours: int) -> dict:
    per_day = 24 // step_hours
    days = (last - first).days + 1
    every = max(1, days // 8)
    return {str(i * per_day): {"label": (first + timedelta(days=i)).strftime("%m-%d")} for i in range(0, days, every)}


def _today() -> date:
    from datetime import datetime

    return (datetime.utcnow() + BEIJING).date()


def layout(area: str | None = None, **_query) -> html.Div:
    viewer = current_viewer()
    options = _areas(viewer)
    chosen = area if any(o["value"] == area for o in options) else (options[0]["value"] if options else None)
    last = _today()
    first = last - timedelta(days=6)
    steps = replay.steps_for(first, last, 6)
    node = views.resolve_area(current_context(), viewer, chosen).node
    legend = [html.Span([html.I(className=f"pa-rp-dot pa-rp-{k}"), KIND_LABELS[k]], className="pa-rp-key")
              for k in replay_kinds(viewer)]
    return html.Div(className="pa-replay", children=[
        html.Div(className="pa-rp-bar", children=[
            html.H2("时间回放", className="pa-heading"),
            dcc.Dropdown(id=ID.AREA, options=options, value=chosen, clearable=False, searchable=False,
                         className="pa-rp-area", placeholder="选择县区"),
            html.Label(["开始日期 ", dcc.Input(id=ID.FIRST, type="date", value=first.isoformat(), debounce=True,
                                                 className="pa-rp-date")]),
            html.Label(["结束日期 ", dcc.Input(id=ID.LAST, type="date", value=last.isoformat(), debounce=True,
                                                className="pa-rp-date")]),
            dcc.RadioItems(id=ID.STEP, options=[{"label": v, "value": k} for k, v in STEPS.items()], value="6",
                           inline=True, className="pa-radio"),
            dcc.Checklist(id=ID.CUMULATIVE, options=[{"label": " 累计显示", "value": "on"}], value=["on"],
                          className="pa-radio"),
            html.Button("播放", id=ID.PLAY, className="pa-btn pa-primary", n_clicks=0),
        ]),
        html.Div(className="pa-rp-slider", children=[
            dcc.Slider(id=ID.SLIDER, min=0, max=steps - 1, step=1, value=steps - 1, marks=_marks(first, last, 6),
                       updatemode="mouseup", allow_direct_input=False)]),
        html.Div(id=ID.CAPTION, className="pa-rp-caption", role="status"),
        dcc.Interval(id=ID.TICK, interval=PLAY_MS, disabled=True),
        html.Div(className="pa-map-box pa-rp-map", children=[
            dl.Map(id=ID.MAP, bounds=node.bounds, boundsOptions={"padding": [20, 20]}, preferCanvas=True,
                   attributionControl=False, minZoom=6, maxZoom=18, zoomSnap=0.25, className="pa-leaflet",
                   children=[attribution(), dl.ScaleControl(position="bottomleft", imperial=False),
                             *basemap_layers(),
                             dl.GeoJSON(id=ID.GRIDS, style=NS("replayGrid"), interactive=False),
                             dl.GeoJSON(id=ID.POINTS, pointToLayer=NS("replayPoint"), interactive=False)]),
            html.Div(legend, id=ID.LEGEND, className="pa-map-panel pa-rp-legend")]),
    ])


def _grids(viewer, area_code: str, generation: int) -> dict:
    ctx = current_context()
    node = views.resolve_area(ctx, viewer, area_code).node

    def compute():
        with ctx.session() as s:
            return replay.grid_outlines(s, viewer.scope, generation, node.bbox)
    return ctx.geo_cache.get_or_set(("replay-grids", node.code, generation, views.scope_key(viewer)), compute)


@callback(
    Output(ID.POINTS, "data"), Output(ID.GRIDS, "data"), Output(ID.CAPTION, "children"),
    Output(ID.SLIDER, "max"), Output(ID.SLIDER, "marks"), Output(ID.MAP, "viewport"),
    Input(ID.SLIDER, "value"), Input(ID.FIRST, "value"), Input(ID.LAST, "value"), Input(ID.STEP, "value"),
    Input(ID.CUMULATIVE, "value"), Input(ID.AREA, "value"),
)
def show(position, first, last, step, cumulative, area_code):
    viewer = current_viewer()
    ctx = current_context()
    no = dash.no_update
    try:
        a, b = replay.parse_range(first, last)
        if step not in STEPS:
            raise replay.ReplayError("请选择回放步长")
        win = replay.window(a, b, position or 0, int(step), cumulative=bool(cumulative))
    except replay.ReplayError as exc:
        return no, no, str(exc), no, no, no
    allowed = {o["value"] for o in _areas(viewer)}
    if area_code not in allowed:  # a forged area: answered in words, nothing drawn
        return no, no, "请选择列表中的区域", no, no, no
    node = views.resolve_area(ctx, viewer, area_code).node
    kinds = replay_kinds(viewer)
    with ctx.session() as s:
        gens = replay.generations(s)
        cells = replay.activity(s, viewer.scope, kinds, win.start, win.end)
    generation = replay.generation_at(gens, win.end)
    x0, y0, x1, y1 = node.bbox
    feats = [geo.feature(geo.point(lon, lat), {"kind": kind, "n": n})
             for kind, cs in cells.items() for lon, lat, n in cs if x0 <= lon <= x1 and y0 <= lat <= y1]
    counts = {k: sum(f["properties"]["n"] for f in feats if f["properties"]["kind"] == k) for k in kinds}
    grids = _grids(viewer, node.code, generation) if generation else geo.collection([])
    when = f"{beijing(win.start)} 至 {beijing(win.end)}"
    parts = [f"{KIND_LABELS[k]} {counts[k]} 件" for k in kinds] or ["无可回放的内容"]
    caption = f"{node.name} · {when} · 第 {generation} 代网格 · " + " · ".join(parts)
    trig = [t["prop_id"] for t in dash.callback_context.triggered or []]
    fly = any(t.startswith(ID.AREA) for t in trig)
    viewport = {"bounds": node.bounds, "transition": "flyToBounds", "options": {"padding": [20, 20]}} if fly else no
    return (geo.collection(feats), grids, caption, win.steps - 1, _marks(a, b, int(step)), viewport)


# 播放 / 暂停: the interval runs only while playing (no timer when the page rests).
clientside_callback(
    """function(n, disabled, value, max) {
        const nu = window.dash_clientside.no_update;
        const start = disabled !== false;
        return [!start, start ? '暂停' : '播放', start && value >= max ? 0 : nu];
    }""",
    Output(ID.TICK, "disabled"), Output(ID.PLAY, "children"), Output(ID.SLIDER, "value", allow_duplicate=True),
    Input(ID.PLAY, "n_clicks"), State(ID.TICK, "disabled"), State(ID.SLIDER, "value"), State(ID.SLIDER, "max"),
    prevent_initial_call=True,
)

# Each tick moves the slider one step; at the end it stops (and the button says 播放 again).
clientside_callback(
    """function(n, value, max) {
        const next = (value || 0) + 1;
        if (next > max) { return [value, true, '播放']; }
        return [next, next >= max, next >= max ? '播放' : '暂停'];
    }""",
    Output(ID.SLIDER, "value"), Output(ID.TICK, "disabled", allow_duplicate=True),
    Output(ID.PLAY, "children", allow_duplicate=True), Input(ID.TICK, "n_intervals"), State(ID.SLIDER, "value"),
    State(ID.SLIDER, "max"), prevent_initial_call=True,
)
