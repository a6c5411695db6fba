"""GET routes for the map popups that list people (console/services/popups.py; docs/console.md, "Map symbols").

/api/popup/grid/<code>          a current grid: where it is, its counts, its grid workers (phones masked)
/api/popup/building/<int:bid>   a building: its households and residents in scope, masked (以房管人)

The registry lets a request through by permission; here: the record's area against the viewer's scope (403,
audited), and every answer that names people is audited as ``record.view`` like the other popups.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response

from console.security import guard
from console.security.guard import AccessDenied
from console.services import permissions as perm
from console.services import popups
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store import Building

blueprint = Blueprint("pingan_popups", __name__)
HIDDEN = "记录不存在或无权查看"


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8", headers={"Cache-Control": "no-store"})


def _sees_workers(viewer) -> bool:
    return viewer.can(perm.VIEW_PERSONS) or viewer.can(perm.VIEW_ALERTS)


@blueprint.get("/api/popup/grid/<code>")
def grid(code: str):
    viewer = current_viewer()
    code = code.strip()[:15]
    obj = f"grid:{code}"
    if len(code) != 15 or not code.isdigit():
        return _json({"error": "网格代码应为 15 位数字"}, 400)
    try:
        guard.require_area(viewer, code, obj)
    except AccessDenied:
        return _json({"error": HIDDEN}, 403)
    workers = _sees_workers(viewer)
    with current_context().session() as s:
        body = popups.grid_popup(s, viewer.scope, code, workers=workers)
    if body is None:
        return _json({"error": HIDDEN}, 404)
    if workers:  # names and (masked) phones of the grid's workers
        guard.audit(viewer, "record.view", f"{obj}:workers", detail={"area": code})
    return _json(body)


@blueprint.get("/api/popup/building/<int:bid>")
def building(bid: int):
    viewer = current_viewer()
    obj = f"building:{bid}"
    with current_context().session() as s:
        row = s.get(Building, bid)
        if row is None:  # answered like a building outside the scope (no existence oracle), audited
            guard.refuse(viewer, obj, "not_found")
            return _json({"error": HIDDEN}, 403)
        try:
            guard.require_area(viewer, row.grid_code, obj)
        except AccessDenied:
            return _json({"error": HIDDEN}, 403)
        body = popups.building_popup(s, viewer.scope, bid)
    if body is None:
        return _json({"error": HIDDEN}, 403)
    guard.audit(viewer, "record.view", obj, detail={"permission": perm.VIEW_PERSONS, "area": row.grid_code})
    return _json(body)
