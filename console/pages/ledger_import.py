"""台账导入: upload a county's ledger → map the columns the file names its own way → preview every row's verdict →
save the accepted rows together. The pipeline is console/ledger_import (docs/import.md); this page only shows it."""

from __future__ import annotations


import dash
import dash_ag_grid as dag
from dash import ALL, Input, Output, State, callback, ctx, dcc, html

from console.ledger_import import templates
from console.ledger_import.commit import commit_import
from console.ledger_import.kinds import KINDS
from console.ledger_import.mapping import missing_required, relaxed, unmapped_fields, with_mapping
from console.ledger_import.plan import CRS_CHOICES, STATUS_LABELS, file_hash, plan_import
from console.ledgers.reader import FORMATS, GEO_FORMATS, LedgerError, normalize_header, read_ledger
from console.pages._upload import decode_upload
from console.security import guard
from console.security.guard import AccessDenied
from console.security.permissions import IMPORT_LEDGERS
from console.services import areas, quality_store, views
from console.services import viewer as viewers
from console.services.context import current_context

dash.register_page(__name__, path="/import", title="平安一张图 · 台账导入", name="台账导入")

MAX_UPLOAD_MB = 30
SHOWN_ROWS = 500
LIMITS = (f"支持 {FORMATS}（CSV 为 UTF-8 或 GBK 编码），以及地理信息软件导出的点图层 {GEO_FORMATS}；"
          f"文件不超过 {MAX_UPLOAD_MB} MB；更大的文件请在服务器上用命令行导入")
ROW = {"display": "flex", "gap": ".6rem", "flexWrap": "wrap", "alignItems": "center", "margin": ".5rem 0"}
ERROR = {"color": "#c53030"}
HIDDEN = {"display": "none"}
TEMPLATE_SHOWN = {**ROW, "background": "#ebf8ff", "border": "1px solid #90cdf4", "borderRadius": ".4rem",
                  "padding": ".4rem .8rem"}
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
    TEMPLATE, TEMPLATE_BOX, TEMPLATE_EDIT, TEMPLATE_DELETE = "li-template", "li-template-box", "li-tpl-edit", "li-tpl-del"


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
        dcc.Upload(id=ID.UPLOAD, accept=".xlsx,.xlsm,.xls,.ods,.csv,.gpkg,.zip", max_size=MAX_UPLOAD_MB * 1024 * 1024,
                   children=html.Div(["把台账文件拖到这里，或 ", html.A("选择文件")]),
                   style={"border": "1px dashed var(--pa-line)", "borderRadius": ".4rem", "padding": "1.2rem",
                          "textAlign": "center", "cursor": "pointer"}),
        html.Div(LIMITS, style={"fontSize": ".85rem", "color": "var(--pa-muted)", "marginTop": ".3rem"}),
        dcc.Store(id=ID.FILE),
        html.Div(id=ID.TEMPLATE_BOX, style=HIDDEN, children=[
            html.Span(id=ID.TEMPLATE),
            html.Button("修改对应关系", id=ID.TEMPLATE_EDIT, n_clicks=0, className="pa-btn"),
            html.Button("删除此模板", id=ID.TEMPLATE_DELETE, n_clicks=0, className="pa-btn")]),
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




def _mapping_panel(kind, ledger, missing: list[str], mapping: dict[str, str], editing: bool, ask: list[str]
                   ) -> html.Div:
    fields = unmapped_fields(kind.spec, ledger.columns)
    options = [{"label": ("✱" if req else "") + header, "value": field} for field, header, req in fields]
    by_field = {c.field: c for c in kind.spec.columns}
    mapped = [h for h in mapping if mapping[h] in by_field and ledger.columns.get(mapping[h]) == h] if editing else []

    def choice(h):
        own = by_field.get(mapping.get(h))
        extra = [{"label": ("✱" if own.required else "") + own.header, "value": own.field}] if h in mapped else []
        return dcc.Dropdown(id={"type": ID.MAP_CHOICE, "header": h}, options=extra + options,
                            value=own.field if extra else None, placeholder="不导入此列", style={"width": "14rem"})
    rows = [html.Div(style=ROW, children=[html.Span(f"文件中的列“{h}”对应", style={"minWidth": "14rem"}), choice(h)])
            for h in [*mapped, *ask]]
    head = [html.B("核对列的对应关系"),
            html.Span("（保存导入时，对应关系存为此来源的模板，下次同一来源的文件自动应用）",
                      style={"color": "var(--pa-muted)", "fontSize": ".85rem"})]
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
          Output(ID.RESULT, "children"), Output(ID.APPLY, "style"), Output(ID.TEMPLATE, "children"),
          Output(ID.TEMPLATE_BOX, "style"),
          Input(ID.UPLOAD, "contents"), Input(ID.APPLY, "n_clicks"), Input(ID.KIND, "value"), Input(ID.CRS, "value"),
          Input(ID.SAVE, "n_clicks"), Input(ID.TEMPLATE_EDIT, "n_clicks"), Input(ID.TEMPLATE_DELETE, "n_clicks"),
          State({"type": ID.MAP_CHOICE, "header": ALL}, "value"), State({"type": ID.MAP_CHOICE, "header": ALL}, "id"),
          State(ID.UPLOAD, "filename"), State(ID.FILE, "data"), prevent_initial_call=True)
def check(contents, _apply, kind_key, crs, _save, _edit, _delete, choices, choice_ids, filename, stored):
    hidden_grid = {"height": "420px", "display": "none"}
    shown_grid, shown_btn = {"height": "420px"}, {"marginTop": ".6rem"}
    trigger = ctx.triggered_id
    if trigger == ID.UPLOAD:
        stored = {"contents": contents, "name": filename, "mapping": {}}
    decoded = decode_upload(stored)
    kind = KINDS.get(kind_key)
    nothing = (None, None, [], hidden_grid, HIDDEN, None, HIDDEN, None, HIDDEN)
    if decoded is None or kind is None or crs not in CRS_CHOICES:
        return None, None, html.Div("请选择台账类别并上传文件" if stored else ""), *nothing[2:]
    viewer = viewers.current_viewer()
    try:
        guard.require(viewer, IMPORT_LEDGERS, f"ledger_import:{kind.key}", log_grant=False)
    except AccessDenied as exc:
        return None, None, html.Div(f"无法导入：{exc}", style=ERROR), *nothing[2:]
    data, name = decoded
    sessions = current_context().sessions
    stored = _sane(stored)
    try:
        if trigger in (ID.UPLOAD, ID.KIND) or stored.get("kind") != kind.key:
            stored = _apply_template(sessions, stored, kind, data, name, viewer)
        elif trigger == ID.TEMPLATE_DELETE and stored["template"]:
            with sessions() as s, s.begin():
                templates.remove(s, stored["template"]["id"], scope=viewer.scope, actor=viewer.username)
            stored = {**stored, "mapping": {}, "template": None, "editing": False, "known": []}
        elif trigger == ID.TEMPLATE_EDIT:
            stored["editing"] = True
        elif trigger == ID.APPLY:
            mapping = dict(stored.get("mapping") or {})
            for cid, c in zip(choice_ids or [], choices or []):
                if c:
                    mapping[cid["header"]] = c
                else:
                    mapping.pop(cid["header"], None)
            stored = {**stored, "mapping": mapping, "editing": False, "changed": True}
        mapping = stored.get("mapping") or {}
        spec = with_mapping(kind.spec, mapping)
        ledger = read_ledger(data, name, relaxed(spec))
    except LedgerError as exc:
        return stored, None, html.Div(exc.message, style=ERROR), *nothing[3:]
    notice, notice_style = _template_notice(stored, kind)
    missing = missing_required(spec, ledger.columns)
    editing = bool(stored.get("editing"))
    # columns the source's template already saw (and the clerk left out) are not asked about again
    known = set() if editing else {normalize_header(h) for h in stored.get("known") or ()}
    ask = [h for h in ledger.ignored if normalize_header(h) not in known]
    panel = (_mapping_panel(kind, ledger, missing, mapping, editing, ask) if (missing or ask or editing)
             else None)
    apply_style = shown_btn if panel is not None else HIDDEN
    if missing or editing:
        return stored, panel, None, [], hidden_grid, HIDDEN, None, apply_style, notice, notice_style
    digest = file_hash(data)
    if trigger == ID.SAVE:
        plan = commit_import(sessions, ledger, kind_key=kind.key, data_hash=digest, filename=name,
                             scope=viewer.scope, actor=viewer.username, crs=crs)
        views.records_changed(current_context(), tables=quality_store.tables_of(kind.model))
        said = f"已保存：{plan.summary}"
        if mapping and (stored.get("changed") or not stored.get("template")):
            with sessions() as s, s.begin():
                kept = templates.save(s, kind=kind.key, scope=viewer.scope, headers=templates.file_headers(ledger),
                                      mapping=mapping, actor=viewer.username,
                                      name=(stored["template"] or {}).get("name")
                                      or templates.default_name(kind.label, name))
            stored = {**stored, "template": {"id": kept.id, "name": kept.name}, "changed": False,
                      "known": list(kept.headers)}
            said += f"。列的对应关系已存为模板「{kept.name}」，此来源的下一个文件将自动应用"
            notice, notice_style = _template_notice(stored, kind)
        result = html.Div(said, style={"color": "#2f855a", "marginTop": ".5rem"})
        return (stored, panel, _summary(plan), _preview_rows(plan, kind), shown_grid, HIDDEN, result, apply_style,
                notice, notice_style)
    with sessions() as s:
        plan = plan_import(s, kind, ledger, data_hash=digest, filename=name, scope=viewer.scope, crs=crs)
    save_style = shown_btn if plan.accepted else HIDDEN
    return (stored, panel, _summary(plan), _preview_rows(plan, kind), shown_grid, save_style, None, apply_style,
            notice, notice_style)


def _apply_template(sessions, stored: dict, kind, data: bytes, name: str, viewer) -> dict:
    """A new file (or another kind): the template of its source, if the account's area has one, is applied."""
    headers = templates.file_headers(read_ledger(data, name, relaxed(kind.spec)))
    with sessions() as s, s.begin():
        found = templates.find(s, kind.key, viewer.scope, headers)
        if found is not None:
            templates.mark_used(s, found.id)
    return {**stored, "kind": kind.key, "mapping": dict(found.mapping) if found else {}, "editing": False,
            "changed": False, "template": {"id": found.id, "name": found.name} if found else None,
            "known": list(found.headers) if found else []}


def _sane(stored: dict) -> dict:
    """The page's own store as the browser sends it back: typed before use (a forged value is dropped, never a 500)."""
    out = dict(stored)
    mapping = out.get("mapping")
    out["mapping"] = ({str(h): f for h, f in mapping.items() if isinstance(f, str)}
                      if isinstance(mapping, dict) else {})
    tpl = out.get("template")
    out["template"] = ({"id": tpl["id"], "name": str(tpl.get("name") or "")[:64]}
                       if isinstance(tpl, dict) and isinstance(tpl.get("id"), int) else None)
    known = out.get("known")
    out["known"] = [str(h) for h in known] if isinstance(known, list) else []
    return out


def _template_notice(stored: dict, kind):
    tpl = stored.get("template")
    if not tpl:
        return None, HIDDEN
    mapping = stored.get("mapping") or {}
    pairs = "、".join(f"“{h}”→{_field_label(kind.key, f)}" for h, f in mapping.items())
    return [html.B(f"已自动应用对应关系模板「{tpl['name']}」"), html.Span(f"（{pairs}）" if pairs else "")], TEMPLATE_SHOWN


def _field_label(kind_key: str, field: str) -> str:
    return next((c.header for c in KINDS[kind_key].spec.columns if c.field == field), field)


def _summary(plan) -> html.Div:
    parts = [html.B(f"工作表「{plan.sheet}」：{plan.summary}")]
    parts += [html.Div(n, style={"color": "var(--pa-muted)"}) for n in plan.notices]
    if len(plan.rows) > SHOWN_ROWS:
        parts.append(html.Div(f"下表列出前 {SHOWN_ROWS} 行；全部 {len(plan.rows)} 行都已检查"))
    return html.Div(parts, style={"marginTop": ".6rem"})
