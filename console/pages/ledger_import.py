"""台账导入: upload a county's ledger → map the columns the file names its own way → preview every row's verdict →
save the accepted rows together. The pipeline is console/ledger_import (docs/import.md); this page only shows it."""

from __future__ import annotations


import dash
import dash_ag_grid as dag
from dash import ALL, Input, Output, State, callback, ctx, dcc, html

from console.ledger_import.commit import commit_import
from console.ledger_import.kinds import KINDS
from console.ledger_import.mapping import missing_required, relaxed, unmapped_fields, with_mapping
from console.ledger_import.plan import CRS_CHOICES, STATUS_LABELS, file_hash, plan_import
from console.ledgers.reader import FORMATS, LedgerError, read_ledger
from console.pages._upload import decode_upload
from console.security import guard
from console.security.guard import AccessDenied
from console.security.permissions import IMPORT_LEDGERS
from console.services import areas, views
from console.services import viewer as viewers
from console.services.context import current_context

dash.register_page(__name__, path="/import", title="平安一张图 · 台账导入", name="台账导入")

MAX_UPLOAD_MB = 30
SHOWN_ROWS = 500
LIMITS = f"支持 {FORMATS}（CSV 为 UTF-8 或 GBK 编码），文件不超过 {MAX_UPLOAD_MB} MB；更大的文件请在服务器上用命令行导入"
ROW = {"display": "flex", "gap": ".6rem", "flexWrap": "wrap", "alignItems": "center", "margin": ".5rem 0"}
ERROR = {"color": "#c53030"}
PREVIEW_COLUMNS = [
    {"field": "number", "headerName": "行号", "width": 80},
    {"field": "status", "headerName": "结果", "width": 90},
    {"field": "key", "headerName": "标识", "width": 220},
    {"field": "name", "headerName": "名称", "width": 200},
    {"field": "grid", "headerName": "所属网格", "width": 220, "tooltipField": "grid_code"},
    {"field": "note", "headerName": "说明", "flex": 1, "wrapText": True, "autoHeight": True},
]


class ID:
    KIND, CRS, UPLOAD, FILE = "li-kind", "li-crs", "li-upload", "li-file"
    MAPPING, APPLY, MAP_CHOICE = "li-mapping", "li-apply", "li-map"
    SUMMARY, PREVIEW, SAVE, RESULT = "li-summary", "li-preview", "li-save", "li-result"


def layout(**_query):
    viewer = viewers.current_viewer()
    if IMPORT_LEDGERS not in viewer.permissions:
        return html.Div(html.P("您没有导入台账的权限。"), className="pa-page")
    return html.Div(className="pa-page", style={"padding": "1rem 1.5rem", "maxWidth": "1400px"}, children=[
        html.H2("台账导入"),
        html.P("导入本辖区的实有人口、社会组织/非公企业、视频监控设备等台账。先检查，再保存；同一文件重复导入不会重复登记。"
               " 范围以外的行不会导入。", style={"color": "var(--pa-muted)"}),
        html.Div(style=ROW, children=[
            html.Span("台账类别"),
            dcc.Dropdown(id=ID.KIND, value="person", clearable=False, style={"width": "16rem"},
                         options=[{"label": k.label, "value": k.key} for k in KINDS.values()]),
            html.Span("坐标系"),
            dcc.RadioItems(id=ID.CRS, value="wgs84", inline=True,
                           options=[{"label": f" {v}　", "value": k} for k, v in CRS_CHOICES.items()]),
        ]),
        dcc.Upload(id=ID.UPLOAD, accept=".xlsx,.xlsm,.xls,.ods,.csv", max_size=MAX_UPLOAD_MB * 1024 * 1024,
                   children=html.Div(["把台账文件拖到这里，或 ", html.A("选择文件")]),
                   style={"border": "1px dashed var(--pa-line)", "borderRadius": ".4rem", "padding": "1.2rem",
                          "textAlign": "center", "cursor": "pointer"}),
        html.Div(LIMITS, style={"fontSize": ".85rem", "color": "var(--pa-muted)", "marginTop": ".3rem"}),
        dcc.Store(id=ID.FILE),
        html.Div(id=ID.MAPPING),
        html.Button("应用对应关系并检查", id=ID.APPLY, n_clicks=0, className="pa-btn", style={"display": "none"}),
        html.Div(id=ID.SUMMARY),
        dag.AgGrid(id=ID.PREVIEW, rowData=[], columnDefs=PREVIEW_COLUMNS, className="ag-theme-alpine pa-grid",
                   style={"height": "420px", "display": "none"},
                   dashGridOptions={"localeText": {"noRowsToShow": "暂无数据", "page": "第", "of": "共",
                                                   "to": "至", "next": "下一页", "previous": "上一页",
                                                   "first": "首页", "last": "末页",
                                                   "pageSizeSelectorLabel": "每页条数："},
                                    "pagination": True, "paginationPageSize": 100}),
        html.Button("保存可导入的行", id=ID.SAVE, n_clicks=0, style={"display": "none"}, className="pa-btn"),
        html.Div(id=ID.RESULT),
    ])




def _mapping_panel(kind, ledger, missing: list[str]) -> html.Div:
    fields = unmapped_fields(kind.spec, ledger.columns)
    options = [{"label": ("✱" if req else "") + header, "value": field} for field, header, req in fields]
    rows = [html.Div(style=ROW, children=[
        html.Span(f"文件中的列“{h}”对应", style={"minWidth": "14rem"}),
        dcc.Dropdown(id={"type": ID.MAP_CHOICE, "header": h}, options=options, placeholder="不导入此列",
                     style={"width": "14rem"})]) for h in ledger.ignored]
    head = [html.B("核对列的对应关系")]
    if missing:
        head.append(html.Div(f"缺少必填列：{'、'.join(missing)}。如文件中用了别的列名，请在下面指定对应关系。", style=ERROR))
    return html.Div(style={"border": "1px solid var(--pa-line)", "borderRadius": ".4rem", "padding": ".6rem .8rem",
                           "marginTop": ".6rem"},
                    children=[*head, *rows])


def _grid_names(codes: set[str]) -> dict[str, str]:
    with current_context().session() as s:
        return areas.grid_labels(s, codes)


def _preview_rows(plan, kind) -> list[dict]:
    name_field = "name"
    names = _grid_names({r.record["grid_code"] for r in plan.rows[:SHOWN_ROWS] if r.record.get("grid_code")})
    out = []
    for r in plan.rows[:SHOWN_ROWS]:
        note = "；".join(r.problems) if r.problems else ("变化：" + "、".join(r.changes) if r.changes else "")
        key = r.key or ""
        if kind.key == "person" and key:
            key = key[:6] + "********" + key[-4:]  # masked: the clerk sees which row, not the number
        out.append({"number": r.number, "status": STATUS_LABELS[r.status], "key": key,
                    "name": r.record.get(name_field, ""), "grid": names.get(r.record.get("grid_code") or "", ""),
                    "grid_code": r.record.get("grid_code") or "", "note": note})
    return out


@callback(Output(ID.FILE, "data"), Output(ID.MAPPING, "children"), Output(ID.SUMMARY, "children"),
          Output(ID.PREVIEW, "rowData"), Output(ID.PREVIEW, "style"), Output(ID.SAVE, "style"),
          Output(ID.RESULT, "children"), Output(ID.APPLY, "style"),
          Input(ID.UPLOAD, "contents"), Input(ID.APPLY, "n_clicks"), Input(ID.KIND, "value"), Input(ID.CRS, "value"),
          Input(ID.SAVE, "n_clicks"),
          State({"type": ID.MAP_CHOICE, "header": ALL}, "value"), State({"type": ID.MAP_CHOICE, "header": ALL}, "id"),
          State(ID.UPLOAD, "filename"), State(ID.FILE, "data"), prevent_initial_call=True)
def check(contents, _apply, kind_key, crs, _save, choices, choice_ids, filename, stored):
    hidden_grid, hidden_btn = {"height": "420px", "display": "none"}, {"display": "none"}
    shown_grid, shown_btn = {"height": "420px"}, {"marginTop": ".6rem"}
    trigger = ctx.triggered_id
    if trigger == ID.UPLOAD:
        stored = {"contents": contents, "name": filename, "mapping": {}}
    decoded = decode_upload(stored)
    kind = KINDS.get(kind_key)
    if decoded is None or kind is None or crs not in CRS_CHOICES:
        return None, None, html.Div("请选择台账类别并上传文件" if stored else ""), [], hidden_grid, hidden_btn, None, hidden_btn
    viewer = viewers.current_viewer()
    try:
        guard.require(viewer, IMPORT_LEDGERS, f"ledger_import:{kind.key}", log_grant=False)
    except AccessDenied as exc:
        return None, None, html.Div(f"无法导入：{exc}", style=ERROR), [], hidden_grid, hidden_btn, None, hidden_btn
    mapping = dict(stored.get("mapping") or {})
    if trigger == ID.APPLY:
        mapping.update({cid["header"]: c for cid, c in zip(choice_ids or [], choices or []) if c})
        stored = {**stored, "mapping": mapping}
    data, name = decoded
    spec = with_mapping(kind.spec, mapping)
    try:
        ledger = read_ledger(data, name, relaxed(spec))
    except LedgerError as exc:
        return stored, None, html.Div(exc.message, style=ERROR), [], hidden_grid, hidden_btn, None, hidden_btn
    missing = missing_required(spec, ledger.columns)
    panel = _mapping_panel(kind, ledger, missing) if (missing or ledger.ignored) else None
    apply_style = shown_btn if panel is not None else hidden_btn
    if missing:
        return stored, panel, None, [], hidden_grid, hidden_btn, None, apply_style
    sessions = current_context().sessions
    digest = file_hash(data)
    if trigger == ID.SAVE:
        plan = commit_import(sessions, ledger, kind_key=kind.key, data_hash=digest, filename=name,
                             scope=viewer.scope, actor=viewer.username, crs=crs)
        views.records_changed(current_context())
        result = html.Div(f"已保存：{plan.summary}", style={"color": "#2f855a", "marginTop": ".5rem"})
        return stored, panel, _summary(plan), _preview_rows(plan, kind), shown_grid, hidden_btn, result, apply_style
    with sessions() as s:
        plan = plan_import(s, kind, ledger, data_hash=digest, filename=name, scope=viewer.scope, crs=crs)
    save_style = shown_btn if plan.accepted else hidden_btn
    return stored, panel, _summary(plan), _preview_rows(plan, kind), shown_grid, save_style, None, apply_style


def _summary(plan) -> html.Div:
    parts = [html.B(f"工作表「{plan.sheet}」：{plan.summary}")]
    parts += [html.Div(n, style={"color": "var(--pa-muted)"}) for n in plan.notices]
    if len(plan.rows) > SHOWN_ROWS:
        parts.append(html.Div(f"下表列出前 {SHOWN_ROWS} 行；全部 {len(plan.rows)} 行都已检查"))
    return html.Div(parts, style={"marginTop": ".6rem"})
