"""GET /api/status: which database, spatial path (PostGIS or WKB) and cache synchronisation this console node
uses (docs/deploy.md). For the configuration administrator; nothing personal."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app

from console.services import cluster
from console.services.context import CONTEXT_KEY

blueprint = Blueprint("pingan_status", __name__)


@blueprint.get("/api/status")
def node_status() -> Response:
    body = cluster.status(current_app.config[CONTEXT_KEY])
    return Response(json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def register(server) -> None:
    server.register_blueprint(blueprint)
