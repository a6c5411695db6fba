"""特殊人群随访 on the phone (docs/field.md §8). Thin: what is due comes from `console.services.followup`; a visit
is sent like every record (`kind: followup` through /api/field/sync or /api/field/records/<uuid>).

GET /api/field/followups   the worker's special-population records with their due dates, masked (field:sync +
                           layer:special; the viewer's own grids only)
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response

from console.field.patrols import beijing_today
from console.security import guard
from console.security.gate import Security
from console.security.permissions import FIELD_SYNC, LAYER_SPECIAL
from console.services import followup
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.store.followup_models import FOLLOWUP_METHODS

blueprint = Blueprint("pingan_field_followups", __name__)


@blueprint.get("/api/field/followups")
def due():
    viewer = current_viewer()
    guard.require(viewer, FIELD_SYNC, "field:followups", log_grant=False)
    guard.require(viewer, LAYER_SPECIAL, "field:followups", log_grant=False)
    today = beijing_today(current_context().security.settings.clock())
    with current_context().session() as s:
        rows = followup.due_on_phone(s, viewer, today)
    body = {"today": today.isoformat(), "methods": FOLLOWUP_METHODS, "records": rows,
            "overdue": sum(r["status"] == "overdue" for r in rows), "soon": sum(r["status"] == "soon" for r in rows)}
    return Response(json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def register(server: Flask, security: Security) -> None:
    server.register_blueprint(blueprint)
