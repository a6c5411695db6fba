"""「显示完整号码/地址」: the per-record control every page uses to ask for one full identity number, phone
number, address or name.

Pages render masked values only. `reveal_control(kind, record_id, masked, field)` puts the masked value and a
button side by side; the one pattern-matching callback below asks `console.services.unmask.reveal`,
which checks the permission and scope on the server and audits the answer. Users without the
permission see the button too and get a refusal (audited) — the server decides, not the layout.

The 总览 grid table (dash-ag-grid) has no per-cell components: `grid_bar(tab)` sits under it and reveals
one field of the selected row (`ROW_KEY` carries the record id; columns whose name starts with "_" are not
shown).
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, html, no_update

from console.security import throttle
from console.security.guard import AccessDenied
from console.services import unmask
from console.services.context import current_context
from console.services.viewer import current_viewer

LABELS = {"id_number": "显示完整号码", "phone": "显示完整号码", "address": "显示完整地址",
          "landlord_name": "显示全名", "legal_rep": "显示全名"}
LABEL = LABELS["id_number"]
REFUSED = "无权查看完整信息（已记录）"
ROW_KEY = "_rid"  # the record id an AgGrid row carries (not shown: columns starting with "_" are hidden)
# The grid table's tabs whose rows can be revealed: tab → (record kind, [(field, button label)]).
GRID_FIELDS = {"persons": ("person", [("id_number", "显示身份证号"), ("phone", "显示电话")]),
               "households": ("household", [("address", "显示完整地址")])}


class ID:
    BUTTON = "unmask-btn"  # pattern-matching: {"type": BUTTON, "kind": ..., "rid": ..., "field": ...}
    VALUE = "unmask-value"  # same keys: the shown (masked, then full) value
    NOTE = "unmask-note"  # same keys: refusal / error message
    GRID = "unmask-grid"  # the 总览 grid table (AgGrid) whose selected row is revealed
    GRID_BUTTON = "unmask-grid-btn"  # pattern-matching: {"type": GRID_BUTTON, "kind": ..., "field": ...}
    GRID_VALUE = "unmask-grid-value"  # same keys


def _key(kind: str, record_id: int, field: str, part: str) -> dict:
    return {"type": part, "kind": kind, "rid": int(record_id), "field": field}


def reveal_control(kind: str, record_id: int, masked: str, field: str = "id_number") -> html.Span:
    """The masked value with its 「显示完整…」 button (one field of one record)."""
    return html.Span(className="pa-unmask", children=[
        html.Span(masked, id=_key(kind, record_id, field, ID.VALUE), className="pa-unmask-value"),
        html.Button(LABELS.get(field, LABEL), id=_key(kind, record_id, field, ID.BUTTON), n_clicks=0,
                    className="pa-unmask-btn", title="查看完整信息（将记入审计日志）"),
        html.Span(id=_key(kind, record_id, field, ID.NOTE), className="pa-unmask-note"),
    ])


def grid_bar(tab: str) -> html.Div | None:
    """Buttons under the grid table revealing one field of the selected row (None for tabs without any)."""
    if tab not in GRID_FIELDS:
        return None
    kind, fields = GRID_FIELDS[tab]
    children = []
    for field, label in fields:
        key = {"kind": kind, "field": field}
        children += [html.Button(label, id={"type": ID.GRID_BUTTON, **key}, n_clicks=0, className="pa-unmask-btn",
                                 title="先在表中选中一行；查看完整信息将记入审计日志"),
                     html.Span(id={"type": ID.GRID_VALUE, **key}, className="pa-unmask-value")]
    return html.Div(className="pa-unmask", children=children)


def answer(kind: str, record_id, field: str, via: str) -> tuple[str | None, str]:
    """(full value or None, message) for one request; the service enforces and audits."""
    ctx = current_context()
    try:
        return unmask.reveal(ctx.session, current_viewer(), kind, record_id, field=field, via=via), ""
    except throttle.Throttled as exc:
        return None, str(exc)
    except AccessDenied:
        return None, REFUSED
    except unmask.UnmaskError as exc:
        return None, str(exc)


def reveal_one(n_clicks):
    trig = dash.callback_context.triggered_id
    if not n_clicks or not isinstance(trig, dict):
        return no_update, no_update
    value, message = answer(str(trig.get("kind")), trig.get("rid"), str(trig.get("field", "id_number")),
                            via="button")
    return (value if value is not None else no_update), message


def reveal_selected(n_clicks, rows):
    trig = dash.callback_context.triggered_id
    if not n_clicks or not isinstance(trig, dict):
        return no_update
    row = (rows or [None])[0]
    if not row or ROW_KEY not in row:
        return "请先在列表中选中一行"
    value, message = answer(str(trig.get("kind")), row[ROW_KEY], str(trig.get("field")), via="grid-table")
    if value is None:
        return message
    name = row.get("姓名") or row.get("户号") or ""
    return f"{name}：{value}" if name else value


def register(app: dash.Dash) -> None:
    """Attach the two callbacks to `app` (from `create_app`: page modules are re-run for every app, this shared
    module is imported once, so its callbacks are registered per app explicitly rather than at import)."""
    match = {"kind": dash.MATCH, "rid": dash.MATCH, "field": dash.MATCH}
    app.callback(Output({"type": ID.VALUE, **match}, "children"), Output({"type": ID.NOTE, **match}, "children"),
                 Input({"type": ID.BUTTON, **match}, "n_clicks"), prevent_initial_call=True)(reveal_one)
    app.callback(Output({"type": ID.GRID_VALUE, "kind": dash.MATCH, "field": dash.MATCH}, "children"),
                 Input({"type": ID.GRID_BUTTON, "kind": dash.MATCH, "field": dash.MATCH}, "n_clicks"),
                 State(ID.GRID, "selectedRows"), prevent_initial_call=True)(reveal_selected)
