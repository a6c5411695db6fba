"""「显示完整号码」: the per-record control every page uses to ask for one full identity number.

Pages render masked values only. `reveal_control(kind, record_id, masked)` puts the masked value and a
button side by side; the one pattern-matching callback below asks `console.services.unmask.reveal`,
which checks the permission and scope on the server and audits the answer. Users without the
permission see the button too and get a refusal (audited) — the server decides, not the layout.

The 总览 grid table (dash-ag-grid) has no per-cell components: `grid_bar()` sits under it and reveals
the selected row (`ROW_KEY` carries the person id; columns whose name starts with "_" are not shown).
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, html, no_update

from console.security.guard import AccessDenied
from console.services import unmask
from console.services.context import current_context
from console.services.viewer import current_viewer

LABEL = "显示完整号码"
REFUSED = "无权查看完整号码（已记录）"
ROW_KEY = "_pid"


class ID:
    BUTTON = "unmask-btn"  # pattern-matching: {"type": BUTTON, "kind": ..., "rid": ...}
    VALUE = "unmask-value"  # same keys: the shown (masked, then full) value
    NOTE = "unmask-note"  # same keys: refusal / error message
    GRID = "unmask-grid"  # the 总览 grid table (AgGrid) whose selected row is revealed
    GRID_BUTTON = "unmask-grid-btn"
    GRID_VALUE = "unmask-grid-value"


def _key(kind: str, record_id: int, part: str) -> dict:
    return {"type": part, "kind": kind, "rid": int(record_id)}


def reveal_control(kind: str, record_id: int, masked: str) -> html.Span:
    """The masked value with its 「显示完整号码」 button (for one record)."""
    return html.Span(className="pa-unmask", children=[
        html.Span(masked, id=_key(kind, record_id, ID.VALUE), className="pa-unmask-value"),
        html.Button(LABEL, id=_key(kind, record_id, ID.BUTTON), n_clicks=0, className="pa-unmask-btn",
                    title="查看完整号码（将记入审计日志）"),
        html.Span(id=_key(kind, record_id, ID.NOTE), className="pa-unmask-note"),
    ])


def grid_bar() -> html.Div:
    return html.Div(className="pa-unmask", children=[
        html.Button(LABEL, id=ID.GRID_BUTTON, n_clicks=0, className="pa-unmask-btn",
                    title="先在表中选中一行；查看完整号码将记入审计日志"),
        html.Span(id=ID.GRID_VALUE, className="pa-unmask-value"),
    ])


def answer(kind: str, record_id, via: str) -> tuple[str | None, str]:
    """(full value or None, message) for one request; the service enforces and audits."""
    ctx = current_context()
    try:
        return unmask.reveal(ctx.session, current_viewer(), kind, record_id, via=via), ""
    except AccessDenied:
        return None, REFUSED
    except unmask.UnmaskError as exc:
        return None, str(exc)


def reveal_one(n_clicks):
    trig = dash.callback_context.triggered_id
    if not n_clicks or not isinstance(trig, dict):
        return no_update, no_update
    value, message = answer(str(trig.get("kind")), trig.get("rid"), via="button")
    return (value if value is not None else no_update), message


def reveal_selected(n_clicks, rows):
    if not n_clicks:
        return no_update
    row = (rows or [None])[0]
    if not row or ROW_KEY not in row:
        return "请先在人员列表中选中一行"
    value, message = answer("person", row[ROW_KEY], via="grid-table")
    if value is None:
        return message
    return f"{row.get('姓名', '')}：{value}"


def register(app: dash.Dash) -> None:
    """Attach the two callbacks to `app` (from `create_app`: page modules are re-run for every app, this shared
    module is imported once, so its callbacks are registered per app explicitly rather than at import)."""
    app.callback(Output({"type": ID.VALUE, "kind": dash.MATCH, "rid": dash.MATCH}, "children"),
                 Output({"type": ID.NOTE, "kind": dash.MATCH, "rid": dash.MATCH}, "children"),
                 Input({"type": ID.BUTTON, "kind": dash.MATCH, "rid": dash.MATCH}, "n_clicks"),
                 prevent_initial_call=True)(reveal_one)
    app.callback(Output(ID.GRID_VALUE, "children"), Input(ID.GRID_BUTTON, "n_clicks"),
                 State(ID.GRID, "selectedRows"), prevent_initial_call=True)(reveal_selected)
