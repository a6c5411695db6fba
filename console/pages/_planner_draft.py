"""The planner page's draft plumbing: read the viewer's draft, turn a button or an edit-control report into one
planner action, apply it and say what happened. No callbacks here (they live in console/pages/planner.py)."""

from __future__ import annotations

from typing import NamedTuple

from dash import html, no_update
from dash.exceptions import PreventUpdate

from console.pages._planner_ids import ID
from console.planner import actions, drafts, editcontrol, importing
from console.planner.village import PlannerError, current_generation, load_village
from console.security.guard import AccessDenied
from console.services.context import current_context
from console.services.viewer import current_viewer
from geodata.planner.draft import EditError, State as DraftState


def message(text: str, tone: str = "ok"):
    return html.Div(text, className=f"pa-pl-message {tone}")


def village(code: str):
    """Village outline, households and current grids, cached per village generation."""
    c = current_context()
    with c.session() as s:
        gen = current_generation(s, code)
    return c.geo_cache.get_or_set(("planner-village", code, gen), lambda: load(code))


def load(code: str):
    with current_context().session() as s:
        return load_village(s, code)


class ImportForm(NamedTuple):
    upload: str | None
    filename: str | None
    encoding: str | None
    crs: str | None
    layer: str | None
    partial: list | None


def button_action(trigger, indices, k, form: ImportForm, history_rows, draft):
    if trigger in (ID.UNDO, ID.REDO, ID.RESTART):
        return {ID.UNDO: "undo", ID.REDO: "redo", ID.RESTART: "restart"}[trigger], {}
    if trigger == ID.MERGE:
        if len(indices) != 2:
            raise EditError("请在表格中勾选两个相邻网格再合并")
        return "merge", {"indices": indices}
    if trigger == ID.DELETE:
        if len(indices) != 1:
            raise EditError("请在表格中勾选一个要删除的网格")
        return "delete", {"index": indices[0]}
    if trigger == ID.PROPOSE:
        return "propose", {"k": int(k) if k else None}
    if trigger == ID.IMPORT:
        code = draft_state(draft).village
        state, warnings = imported_state(form, code)
        return "import", {"state": state, "warnings": warnings}
    if trigger == ID.RESTORE:
        if not history_rows:
            raise EditError("请先在版本历史中勾选一个版本")
        code = draft_state(draft).village
        with current_context().session() as s:
            return "restore", {"state": actions.restore_state(s, code, int(history_rows[0]["id"]))}
    raise PreventUpdate


def text(value) -> str | None:
    """A dropdown's value as sent by the browser: text, or None for anything else (a forged body)."""
    return value if isinstance(value, str) and value else None


def imported_state(form: ImportForm, village_code: str):
    return importing.imported_state(importing.upload_bytes(text(form.upload)), text(form.filename) or "",
                                    village(village_code), crs=text(form.crs), encoding=text(form.encoding),
                                    layer=text(form.layer),
                                    partial=isinstance(form.partial, list) and "partial" in form.partial)


class Loaded(NamedTuple):
    village: str
    state: DraftState
    labels: list[str]
    cursor: int
    newer: int | None  # the village's generation when someone committed after this draft started


def draft_state(draft: dict) -> Loaded:
    """The viewer's draft, read once. The village comes from the stored row, never from the browser, and
    drafts.get enforces grid:edit + scope + ownership."""
    with current_context().session() as s:
        row = drafts.get(s, current_viewer(), int(draft["draft"]))
        return Loaded(row.village_code, drafts.state_of(row), drafts.step_labels(row), row.cursor,
                      drafts.stale(s, row))


def next_draft(current: dict, **changes) -> dict:
    return {**current, **changes, "version": current.get("version", 0) + 1}


def apply(draft: dict, action: str, payload: dict, code: str | None = None):
    viewer = current_viewer()
    try:
        code = code or draft_state(draft).village
        with current_context().session() as s, s.begin():
            out = actions.apply(s, viewer, draft["draft"], village(code), action, payload)
    except (EditError, PlannerError, AccessDenied) as exc:
        return no_update, no_update, message(str(exc), "error")
    note = "；".join([out.message, *payload.get("warnings", [])])
    return next_draft(draft, draft=out.draft_id, selected=None), no_update, message(note)


def from_edit_control(draft, mount, reports, version):
    features = ((reports or [None])[0] or {}).get("features") or []
    if version != draft.get("version"):
        raise PreventUpdate                                  # a report from a control that is being replaced
    if not mount or mount.get("version") != version:         # the first report after a mount names the grid
        return no_update, {"version": version, "id": editcontrol.mount_id(features)}, no_update
    code, state = draft_state(draft)[:2]
    sel = draft.get("selected")
    selected = state[sel].geometry if sel is not None and sel < len(state) else None
    todo = editcontrol.interpret(features, mount.get("id") if selected is not None else None, selected)
    if not todo:
        raise PreventUpdate
    a = todo[0]
    payload = {"geometry": a.geometry, "index": sel}
    return apply(draft, a.name, payload, code)
