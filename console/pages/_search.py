"""The 总览 map's search box: an area, a person (masked), an address, a case code or a camera id → a list of
places; choosing one drills the map to its area or grid (docs/console.md, 搜索; console/services/search.py).

Not a page; `register(app)` wires its callbacks for each app (console/app.py)."""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, html, dcc

from console.pages._overview_ids import ID as OV
from console.services import search as svc
from console.services.context import current_context
from console.services.viewer import current_viewer


class ID:
    BOX = "search-box"
    TEXT = "search-text"
    GO = "search-go"
    HITS = "search-hits"
    HIT = "search-hit"  # pattern-matching type: {"type": HIT, "area": code, "n": index}


PLACEHOLDER = "搜索：地名、人员姓名或身份证号、地址、纠纷编号、摄像头编号"


def box() -> html.Div:
    return html.Div(id=ID.BOX, className="pa-search", role="search", children=[
        dcc.Input(id=ID.TEXT, type="search", placeholder=PLACEHOLDER, debounce=False, maxLength=svc.MAX_TEXT,
                  className="pa-search-text", autoComplete="off", n_submit=0),
        html.Button("搜索", id=ID.GO, className="pa-btn pa-primary", n_clicks=0),
        html.Div(id=ID.HITS, className="pa-search-hits"),
    ])


def hits_view(text: str | None) -> list:
    ctx, viewer = current_context(), current_viewer()
    try:
        with ctx.session() as s:
            hits = svc.search(s, viewer, text)
    except svc.SearchError as exc:
        return [html.Div(str(exc), className="pa-search-note")]
    if not hits:
        return [html.Div("没有找到可查看的结果（仅在您的权限和辖区内搜索）", className="pa-search-note")]
    return [html.Button([html.Span(svc.KIND_LABELS[h.kind], className="pa-search-kind"), h.label],
                        id={"type": ID.HIT, "area": h.area, "n": i}, className="pa-search-hit",
                        n_clicks=0, title=h.area) for i, h in enumerate(hits)]


def run_search(_clicks, _submits, text):
    if not (_clicks or _submits):
        return dash.no_update
    return hits_view(text)


def register(app: dash.Dash) -> None:
    app.callback(Output(ID.HITS, "children"), Input(ID.GO, "n_clicks"), Input(ID.TEXT, "n_submit"),
                 State(ID.TEXT, "value"), prevent_initial_call=True)(run_search)
    # choosing a hit drills the map to its area or grid (the overview's own step: viewport, layers, KPIs)
    app.clientside_callback(
        """function(clicks) {
            const ctx = window.dash_clientside.callback_context;
            const nu = window.dash_clientside.no_update;
            if (!ctx.triggered || !ctx.triggered.length || !ctx.triggered[0].value) { return [nu, nu]; }
            const id = ctx.triggered_id;
            return [id && id.area ? id.area : nu, []];
        }""",
        Output(OV.AREA, "data", allow_duplicate=True), Output(ID.HITS, "children", allow_duplicate=True),
        Input({"type": ID.HIT, "area": ALL, "n": ALL}, "n_clicks"), prevent_initial_call=True)
