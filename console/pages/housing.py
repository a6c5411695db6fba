"""以房管人: search a building (房屋编号, address, 户号 or a full identity number) → the building, its households and
their residents, masked and within scope. Reading a building's residents is audited (the registry marks it
sensitive); the tree itself comes from console/services/housing.py."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from console.security import guard
from console.security.guard import AccessDenied
from console.security.permissions import VIEW_PERSONS
from console.services import areas, housing
from console.services import viewer as viewers
from console.services.context import current_context

dash.register_page(__name__, path="/housing", title="平安一张图 · 以房管人", name="以房管人")

CELL = {"border": "1px solid var(--pa-line)", "padding": ".25rem .55rem", "textAlign": "left"}
PERSON_COLUMNS = ("姓名", "性别", "公民身份号码", "与户主关系", "人口类型", "联系电话", "特殊人群")


class ID:
    TEXT, GO, RESULTS, PICK, TREE = "hs-text", "hs-go", "hs-results", "hs-pick", "hs-tree"


def layout(building: str | None = None, **_query):
    viewer = viewers.current_viewer()
    if VIEW_PERSONS not in viewer.permissions:
        return html.Div(html.P("您没有查看人员信息的权限。"), className="pa-page")
    return html.Div(className="pa-page", style={"padding": "1rem 1.5rem", "maxWidth": "1400px"}, children=[
        html.H2("以房管人"),
        html.Div(style={"display": "flex", "gap": ".6rem", "alignItems": "center"}, children=[
            dcc.Input(id=ID.TEXT, type="text", debounce=True, placeholder="房屋编号、地址、户号或完整身份证号",
                      style={"width": "28rem", "padding": ".35rem"}),
            html.Button("查找", id=ID.GO, n_clicks=0, className="pa-btn")]),
        html.Div(id=ID.RESULTS, style={"margin": ".6rem 0"}),
        dcc.Dropdown(id=ID.PICK, placeholder="选择房屋", style={"width": "40rem", "display": "none"}),
        html.Div(id=ID.TREE),
    ])


@callback(Output(ID.RESULTS, "children"), Output(ID.PICK, "options"), Output(ID.PICK, "value"),
          Output(ID.PICK, "style"), Input(ID.GO, "n_clicks"), Input(ID.TEXT, "value"), prevent_initial_call=True)
def search(_n, text):
    viewer = viewers.current_viewer()
    hidden = {"width": "40rem", "display": "none"}
    if not isinstance(text, str) or len(text.strip()) < 2:
        return "请输入至少 2 个字", [], None, hidden
    with current_context().session() as s:
        found = housing.find_buildings(s, viewer.scope, text[:64])
        names = areas.grid_labels(s, {b["grid_code"] for b in found})
    if not found:
        return "没有找到（只在您的数据范围内查找）", [], None, hidden
    options = [{"label": f"{b['房屋编号']} · {b['地址']} · {names.get(b['grid_code'], '')}", "value": b["id"]}
               for b in found]
    return f"找到 {len(found)} 处房屋", options, found[0]["id"], {"width": "40rem"}


@callback(Output(ID.TREE, "children"), Input(ID.PICK, "value"), prevent_initial_call=True)
def show_building(building_id):
    viewer = viewers.current_viewer()
    if not isinstance(building_id, int):
        return None
    try:
        guard.require(viewer, VIEW_PERSONS, f"building:{building_id}", log_grant=False)
    except AccessDenied as exc:
        return html.P(str(exc))
    with current_context().session() as s:
        tree = housing.building_tree(s, viewer.scope, building_id)
        grid = areas.grid_labels(s, {tree["grid_code"]}).get(tree["grid_code"], "") if tree else ""
    if tree is None:
        return html.P("该房屋不存在或不在您的数据范围内。")
    head = html.Div([html.H3(f"{tree['地址']}（{tree['房屋编号']}）"),
                     html.P(f"{tree['类型']} · {tree['层数']} 层 · {tree['套数']} 套 · {grid}",
                            style={"color": "var(--pa-muted)"})])
    blocks = []
    for h in tree["households"]:
        rows = [html.Tr([html.Td(m[c], style=CELL) for c in PERSON_COLUMNS]) for m in h["members"]]
        blocks.append(html.Div([
            html.B(f"户号 {h['户号']} · {h['类型']} · 出租房：{h['出租房']} · {len(h['members'])} 人"),
            html.Table([html.Thead(html.Tr([html.Th(c, style=CELL) for c in PERSON_COLUMNS])), html.Tbody(rows)],
                       style={"borderCollapse": "collapse", "margin": ".3rem 0 .9rem"}) if rows else html.P("暂无数据"),
        ]))
    return html.Div([head, *blocks] if blocks else [head, html.P("暂无数据")])
