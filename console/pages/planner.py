"""网格规划: redraw a village's grids as a draft with live balance and validity, preview who moves, commit as a
new generation, browse and roll back generations. Callbacks are thin: console.planner does the work."""

from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import ALL, Input, Output, State, callback, ctx as dash_ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from sqlalchemy import select

from console.store import names as area_names
from console.services.clock import beijing
from console.pages._planner_ids import ID
from console.pages import _planner_draft as draft_io
from console.pages._planner_layout import map_panel, tools_panel
from console.planner import actions, commit as committing, drafts, importing, render
from console.planner.evaluate import evaluate, grid_rows
from console.planner.village import PlannerError, grids_at, history
from console.security.guard import AccessDenied, audit
from console.security.permissions import GRID_EDIT
from console.services import views
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store import Area
from geodata.planner import gridfile
from geodata.planner.draft import EditError

dash.register_page(__name__, path="/planner", title="平安一张图 · 网格规划", name="网格规划")


def _village_options(viewer) -> list[dict]:
    with current_context().session() as s:
        towns = dict(s.execute(select(Area.code, Area.name).where(Area.level == "town")).all())
        rows = s.execute(select(Area.code, Area.name).where(Area.level == "village").order_by(Area.code)).all()
    return [{"label": f"{towns.get(code[:9], '')} · {name}（{code}）", "value": code}
            for code, name in rows if viewer.sees(code)]


def layout(village: str | None = None, **_query):
    viewer = current_viewer()
    if not viewer.can(GRID_EDIT):
        return html.Div(className="pa-placeholder", children=[html.H2("网格规划"), html.P("无权限：需要“编辑网格”权限。")])
    options = _village_options(viewer)
    value = village if any(o["value"] == village for o in options) else None
    return html.Div(className="pa-planner", children=[
        dcc.Location(id=ID.URL, refresh=False),
        dcc.Store(id=ID.DRAFT), dcc.Store(id=ID.MOUNT),
        html.Div(className="pa-pl-head", children=[
            html.H2("网格规划", style={"margin": 0}),
            dcc.Dropdown(id=ID.VILLAGE, options=options, value=value, placeholder="选择村（社区）…",
                         className="pa-pl-village"),
            html.Div(id=ID.MESSAGE, className="pa-pl-message info", children="选择一个村（社区）开始调整网格。"),
        ]),
        html.Div(className="pa-pl-body", children=[map_panel(), tools_panel()]),
    ])


# ------------------------------------------------------------------ open a village
@callback(Output(ID.DRAFT, "data"), Output(ID.MESSAGE, "children"), Output(ID.OUTLINE, "data"),
          Output(ID.HOUSEHOLDS, "data"), Output(ID.MAP, "viewport"), Output(ID.URL, "search"),
          Input(ID.VILLAGE, "value"), prevent_initial_call=False)
def open_village(code):
    if not code:
        raise PreventUpdate
    viewer = current_viewer()
    try:
        with current_context().session() as s, s.begin():
            row = drafts.open_draft(s, viewer, code) or drafts.start(s, viewer, code)
            draft_id, resumed = row.id, len(drafts.step_labels(row)) > 1
    except (AccessDenied, PlannerError) as exc:
        return None, draft_io.message(str(exc), "error"), None, None, no_update, no_update
    v = draft_io.village(code)
    outline = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                          "geometry": v.geometry.__geo_interface__}]}
    note = f"{v.name}：{len(v.grids)} 个网格，{v.households} 户" + ("（已恢复未提交的草稿）" if resumed else "")
    viewport = {"bounds": render.bounds(v.geometry), "transition": "fitBounds", "options": {"animate": False}}
    return ({"draft": draft_id, "village": code, "version": 0, "selected": None}, draft_io.message(note, "info"), outline,
            render.households_geojson(v.lon, v.lat), viewport, f"?village={code}")


# ------------------------------------------------------------------ every edit goes through here
EDIT_INPUT = Input({"type": ID.EDIT, "v": ALL}, "geojson")


@callback(Output(ID.DRAFT, "data", allow_duplicate=True), Output(ID.MOUNT, "data"),
          Output(ID.MESSAGE, "children", allow_duplicate=True), Output(ID.CRS, "value", allow_duplicate=True),
          EDIT_INPUT, Input(ID.GRIDS, "clickData"), Input(ID.TABLE, "cellClicked"),
          Input(ID.UNDO, "n_clicks"), Input(ID.REDO, "n_clicks"), Input(ID.MERGE, "n_clicks"),
          Input(ID.DELETE, "n_clicks"), Input(ID.RESTART, "n_clicks"), Input(ID.PROPOSE, "n_clicks"),
          Input(ID.IMPORT, "n_clicks"), Input(ID.RESTORE, "n_clicks"),
          State(ID.DRAFT, "data"), State(ID.MOUNT, "data"), State(ID.TABLE, "selectedRows"), State(ID.K, "value"),
          State(ID.UPLOAD, "contents"), State(ID.UPLOAD, "filename"), State(ID.ENCODING, "value"),
          State(ID.CRS, "value"), State(ID.LAYER, "value"), State(ID.PARTIAL, "value"),
          State(ID.HISTORY, "selectedRows"), prevent_initial_call=True)
def act(edit_reports, click, cell, _u, _r, _m, _d, _rs, _p, _i, _h, draft, mount, selected, k, upload, filename,
        encoding, crs, layer, partial, history_rows):
    if not draft:
        raise PreventUpdate
    trigger = dash_ctx.triggered_id
    if isinstance(trigger, dict) and trigger.get("type") == ID.EDIT:
        return (*draft_io.from_edit_control(draft, mount, edit_reports, trigger["v"]), no_update)
    if trigger == ID.GRIDS or trigger == ID.TABLE:
        index = (click or {}).get("properties", {}).get("index") if trigger == ID.GRIDS else \
            int((cell or {}).get("rowId") or -1)
        if index is None or index < 0:
            raise PreventUpdate
        return draft_io.next_draft(draft, selected=index), no_update, no_update, no_update
    indices = sorted(int(r["index"]) for r in selected or [])
    try:
        form = draft_io.ImportForm(upload, filename, encoding, crs, layer, partial)
        action, payload = draft_io.button_action(trigger, indices, k, form, history_rows, draft)
    except importing.GCJ02Suspected as exc:  # preselect the conversion it offers
        return no_update, no_update, draft_io.message(str(exc), "error"), "GCJ02"
    except (EditError, PlannerError, AccessDenied) as exc:
        return no_update, no_update, draft_io.message(str(exc), "error"), no_update
    return (*draft_io.apply(draft, action, payload), no_update)


# ------------------------------------------------------------------ render the draft
@callback(Output(ID.GRIDS, "data"), Output(ID.GRIDS, "hideout"), Output(ID.PROBLEMS, "data"),
          Output(ID.TABLE, "rowData"), Output(ID.SUMMARY, "children"), Output(ID.PROBLEM_LIST, "children"),
          Output(ID.EDIT_BOX, "children"), Output(ID.UNDO, "disabled"), Output(ID.REDO, "disabled"),
          Output(ID.COMMIT, "disabled"),
          Input(ID.DRAFT, "data"))
def show(draft):
    if not draft:
        raise PreventUpdate
    code, state, labels, cursor, newer = draft_io.draft_state(draft)
    v = draft_io.village(code)
    ev = evaluate(v, state)
    sel = draft.get("selected")
    sel = sel if sel is not None and sel < len(state) else None
    n_err = len(ev.errors)
    summary = [html.Span(["网格 ", html.B(len(state))]), html.Span(["住户 ", html.B(v.households)]),
               html.Span(["未归属 ", html.B(len(ev.balance.unassigned))]),
               html.Span(["错误 ", html.B(n_err)], className="pa-pl-error" if n_err else ""),
               html.Span(f"标准：每格 {ev.balance.band.low}–{ev.balance.band.high} 户"),
               html.Span(f"步骤 {cursor + 1}/{len(labels)}：{labels[cursor]}"),
               html.Span(f"校验 {ev.ms:.0f} 毫秒", className="pa-pl-hint")]
    if newer:
        summary.append(html.Span(f"注意：本村已有他人提交的第 {newer} 版，本草稿不能直接提交；请导出草稿后“重新开始”，"
                                 "再导入调整（rebase）", className="pa-pl-error"))
    problems = [html.Li(p.message, className=p.severity) for p in ev.problems] or [html.Li("无错误：可以提交", className="ok")]
    if len(state) != len(v.grids):  # valid is not the same as unchanged: say what a commit does to the count
        change = "合并减少" if len(state) < len(v.grids) else "新增"
        problems.insert(0, html.Li(f"网格数将由现行 {len(v.grids)} 个变为 {len(state)} 个（{change} "
                                   f"{abs(len(state) - len(v.grids))} 个），提交前请核对", className="warning"))
    return (render.grids_geojson(state, ev), {"selected": sel}, render.problems_geojson(ev, v.lon, v.lat),
            grid_rows(state, ev), summary, problems, _edit_group(draft["version"], state, sel),
            cursor == 0, cursor >= len(labels) - 1, n_err > 0)


def _edit_group(version: int, state, sel):
    """A fresh FeatureGroup per render (the id changes, so React remounts the control with only the selected grid)."""
    children = []
    if sel is not None:
        positions = render.leaflet_positions(state[sel].geometry)
        if positions:
            children.append(dl.Polygon(positions=positions, color="#2b6cb0", weight=3, fillOpacity=0.1))
    children.append(dl.EditControl(
        id={"type": ID.EDIT, "v": version}, position="topleft",
        draw={"polygon": {"allowIntersection": False, "showArea": True}, "polyline": True, "rectangle": True,
              "circle": False, "marker": False, "circlemarker": False},
        edit={"edit": sel is not None, "remove": sel is not None}))
    return dl.FeatureGroup(id={"type": ID.EDIT_GROUP, "v": version}, children=children)


# ------------------------------------------------------------------ preview, commit, history
@callback(Output(ID.PREVIEW_SUMMARY, "children"), Output(ID.PAIRS, "rowData"), Output(ID.WORKERS, "rowData"),
          Input(ID.PREVIEW, "n_clicks"), State(ID.DRAFT, "data"), prevent_initial_call=True)
def show_preview(_n, draft):
    if not draft:
        raise PreventUpdate
    code, state = draft_io.draft_state(draft)[:2]
    with current_context().session() as s:
        pv = committing.preview(s, draft_io.village(code), state)
    if pv.empty:
        return [html.Span("草稿与现行网格相同，没有变更。")], [], []
    moved = {k: len(m) for k, m in pv.moved.items()}
    summary = [html.Span(["新增/重划 ", html.B(len(pv.added))]), html.Span(["撤销 ", html.B(len(pv.retired))]),
               html.Span(["保持不变 ", html.B(len(pv.unchanged))]), html.Span(["变更户 ", html.B(moved["household"])]),
               html.Span(["变更人 ", html.B(moved["person"])]), html.Span(["特殊人群 ", html.B(moved["special"])])]
    # names: the draft's own for its grids (new ones have no stored name yet), else the stored ones
    with current_context().session() as s:
        known = area_names.names(s, {c for r in pv.pairs for c in (r["from"], r["to"])}
                                 | {r["grid"] for r in pv.workers} | set(pv.successors))
    known.update({g.code: g.name for g in state if g.code and g.name})
    for old, new in pv.successors.items():
        summary.append(html.Span(f"网格 {area_names.label(known, old)} 撤销，其网格员转入 "
                                 f"{area_names.label(known, new) if new else '（无承接网格）'}", title=old))
    pairs = [{**r, "rid": f"{r['from']}>{r['to']}", "from_name": area_names.label(known, r["from"]),
              "to_name": area_names.label(known, r["to"])} for r in pv.pairs]
    workers = [{**r, "rid": str(r["grid"]), "grid_name": area_names.label(known, r["grid"])} for r in pv.workers]
    return summary, pairs, workers


@callback(Output(ID.DRAFT, "data", allow_duplicate=True), Output(ID.MESSAGE, "children", allow_duplicate=True),
          Output(ID.REASON, "value"),
          Input(ID.COMMIT, "n_clicks"), Input(ID.ROLLBACK_CONFIRM, "n_clicks"), State(ID.DRAFT, "data"),
          State(ID.REASON, "value"), State(ID.HISTORY, "selectedRows"), prevent_initial_call=True)
def commit(_c, _r, draft, reason, history_rows):
    if not draft:
        raise PreventUpdate
    viewer = current_viewer()
    c = current_context()
    try:
        code = draft_io.draft_state(draft).village
        with c.session() as s, s.begin():
            if dash_ctx.triggered_id == ID.ROLLBACK_CONFIRM:
                if not history_rows:
                    raise PlannerError("请先在版本历史中勾选要回退到的版本")
                result = committing.rollback_to(s, viewer, code, int(history_rows[0]["id"]), reason or "")
            else:
                result = committing.commit_draft(s, viewer, draft["draft"], reason or "")
        with c.session() as s, s.begin():
            fresh = drafts.start(s, viewer, code)
    except (PlannerError, AccessDenied, EditError) as exc:
        return no_update, draft_io.message(str(exc), "error"), no_update
    views.boundaries_changed(c)
    moved = result.moved.get("household", 0)
    text = f"已提交为第 {result.generation} 版：新增/重划 {len(result.added)} 个网格，撤销 {len(result.retired)} 个，{moved} 户变更网格"
    return {**draft_io.next_draft(draft, selected=None), "draft": fresh.id}, draft_io.message(text), ""


@callback(Output(ID.ROLLBACK_PREVIEW, "children"), Output(ID.ROLLBACK_CONFIRM, "style"),
          Input(ID.ROLLBACK, "n_clicks"), Input(ID.DRAFT, "data"), State(ID.HISTORY, "selectedRows"),
          prevent_initial_call=True)
def preview_rollback(_n, draft, history_rows):
    """回退: what going back to the chosen version would change, before anything is committed."""
    hidden = {"display": "none"}
    if dash_ctx.triggered_id != ID.ROLLBACK or not draft:
        return None, hidden  # a new draft state (after a commit, another village): no pending rollback
    if not history_rows:
        return draft_io.message("请先在版本历史中勾选要回退到的版本", "error"), hidden
    code, generation = draft_io.draft_state(draft).village, int(history_rows[0]["id"])
    with current_context().session() as s:
        past = grids_at(s, code, generation)
        if not past:
            return draft_io.message(f"第{generation}版中没有本村（社区）的网格", "error"), hidden
        pv = committing.preview(s, draft_io.village(code), past)
    if pv.empty:
        return draft_io.message(f"第{generation}版与现行网格相同，无需回退", "error"), hidden
    moved = pv.moved.get("household", [])
    text = (f"回退到第{generation}版将：新增/重划 {len(pv.added)} 个网格，撤销 {len(pv.retired)} 个，"
            f"保持不变 {len(pv.unchanged)} 个，{len(moved)} 户变更网格。确认后才提交。")
    return draft_io.message(text, "warn"), {}


@callback(Output(ID.HISTORY, "rowData"), Input(ID.DRAFT, "data"))
def show_history(draft):
    if not draft:
        raise PreventUpdate
    code = draft_io.draft_state(draft).village
    with current_context().session() as s:
        rows = history(s, code)
    return [{"id": r["id"], "rid": str(r["id"]), "when": beijing(r["created_at"]),
             "created_by": r["created_by"], "reason": r["reason"],
             "note": "现行" if r["current"] else (f"回退自第{r['rollback_of']}版" if r["rollback_of"] else "")}
            for r in rows]


@callback(Output(ID.PAST, "data"), Output(ID.MESSAGE, "children", allow_duplicate=True),
          Input(ID.VIEW_GEN, "n_clicks"), State(ID.DRAFT, "data"), State(ID.HISTORY, "selectedRows"),
          prevent_initial_call=True)
def show_generation(_n, draft, rows):
    """A past version as a dashed overlay, and a message that says so (replacing any earlier one)."""
    if not draft:
        raise PreventUpdate
    if not rows:
        return None, draft_io.message("请先在版本历史中勾选要查看的版本", "error")
    code, generation = draft_io.draft_state(draft).village, int(rows[0]["id"])
    try:
        with current_context().session() as s:
            state = actions.restore_state(s, code, generation)
    except PlannerError as exc:
        return None, draft_io.message(str(exc), "error")
    data = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": g.code}, "geometry": g.geometry.__geo_interface__} for g in state]}
    return data, draft_io.message(f"地图上的紫红色虚线是第{generation}版的 {len(state)} 个网格")


@callback(Output(ID.DOWNLOAD, "data"), Output(ID.MESSAGE, "children", allow_duplicate=True),
          Input(ID.EXPORT, "n_clicks"), State(ID.DRAFT, "data"), State(ID.EXPORT_FMT, "value"),
          State(ID.EXPORT_CRS, "value"), prevent_initial_call=True)
def export(_n, draft, fmt, crs):
    if not draft:
        raise PreventUpdate
    code, state = draft_io.draft_state(draft)[:2]
    v = draft_io.village(code)
    ev = evaluate(v, state)
    grids = [{"code": g.code or "", "name": g.name, "village_code": v.code, "households": t.households,
              "residents": t.residents, "geometry": g.geometry} for g, t in zip(state, ev.balance.tallies)]
    content, filename, _mime = gridfile.write_grid_file(grids, fmt, crs=crs)
    audit(current_viewer(), "grid.export", f"village:{code}", detail={"format": fmt, "crs": crs, "grids": len(grids)})
    return dcc.send_bytes(content, filename), draft_io.message(f"已导出 {len(grids)} 个网格（{filename}）")


@callback(Output(ID.UPLOAD_NAME, "children"), Output(ID.CRS, "value"), Output(ID.ENCODING, "options"),
          Output(ID.ENCODING, "value"), Output(ID.LAYER, "options"), Output(ID.LAYER, "value"),
          Input(ID.UPLOAD, "contents"), State(ID.UPLOAD, "filename"), prevent_initial_call=True)
def sniff_upload(contents, name):
    """Say what the file is and what the planner must choose (layer, text encoding, coordinate system).
    A new file resets the choices made for the previous one (a stale CRS would misplace it)."""
    if not contents:
        raise PreventUpdate
    try:
        form = importing.describe_upload(current_viewer(), contents, name)
    except AccessDenied as exc:
        return draft_io.message(str(exc), "error"), no_update, no_update, no_update, no_update, no_update
    return (draft_io.message(form.message, form.tone), form.crs or "", form.encoding_options, form.encoding,
            form.layer_options, form.layer)
