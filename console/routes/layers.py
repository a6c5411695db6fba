"""GET routes serving map layers by URL. Every route asks `current_viewer()` and checks permission + scope.

/api/basemap/<name>.geojson          shipped context data (no personal data)
/api/layers/<key>.geojson?area=CODE  one layer for one area, scoped to the viewer
/api/layers/<key>/<id>               popup rows for one feature (always masked; full values: routes/unmask.py)

The security gate (`console.security.web`) has already refused anonymous requests. Here: a missing layer
permission, an area or a record outside the viewer's scope → 403, written to the audit log by `guard`;
every popup of a sensitive layer is audited (`record.view`).
"""

from __future__ import annotations

import gzip
import json

from flask import Blueprint, Response, abort, request

from console.security import guard
from console.security.guard import AccessDenied
from console.services import geo, views
from console.services import permissions as perm
from console.services.areas import get_node
from console.services.context import current_context
from console.services.viewer import current_viewer
from console.services.layers import LAYERS

blueprint = Blueprint("pingan_layers", __name__)

_GZ_CACHE: dict[int, bytes] = {}

# Layers whose popups show personal or case data: every read is audited.
SENSITIVE = frozenset({perm.LAYER_SPECIAL, perm.LAYER_POPULATION, perm.LAYER_DISPUTES})


def _json_response(body: bytes, *, max_age: int = 60, content_type: str = "application/geo+json") -> Response:
    headers = {"Cache-Control": f"private, max-age={max_age}", "X-Content-Type-Options": "nosniff"}
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(body) > 1024:
        key = hash(body)
        gz = _GZ_CACHE.get(key)
        if gz is None:
            gz = gzip.compress(body, 5)
            if len(_GZ_CACHE) > 512:
                _GZ_CACHE.clear()
            _GZ_CACHE[key] = gz
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
        body = gz
    return Response(body, content_type=f"{content_type}; charset=utf-8", headers=headers)


def _refuse(status: int, message: str) -> Response:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    return Response(body, status=status, content_type="application/json; charset=utf-8")


@blueprint.get("/api/basemap/<name>.geojson")
def basemap(name: str):
    if name not in geo.BASEMAP_FILES:
        abort(404)
    return _json_response(geo.basemap(name), max_age=86400)


@blueprint.get("/api/layers/<key>.geojson")
def layer(key: str):
    spec = LAYERS.get(key)
    if spec is None:
        return _refuse(404, "无此图层")
    viewer = current_viewer()
    try:
        guard.require(viewer, spec.permission, f"layer:{key}", log_grant=False)
    except AccessDenied:
        return _refuse(403, "无权查看该图层")
    ctx = current_context()
    code = (request.args.get("area") or "").strip()[:20]
    if code and not viewer.scope.overlaps(code):
        with ctx.session() as s:
            exists = get_node(s, code) is not None
        if exists:  # a real area outside the scope: refuse (audited) instead of falling back
            try:
                guard.require_area(viewer, code, f"layer:{key}@{code}")
            except AccessDenied:
                return _refuse(403, "无权查看该区域")
    res = views.resolve_area(ctx, viewer, request.args.get("area"))
    if res.message:  # unknown or out-of-scope area: say so rather than silently showing another
        return _refuse(404, res.message)
    body = views.layer_bytes(ctx, viewer, key, res.node)
    if spec.permission in SENSITIVE:  # a bulk read of personal or case records (points only, but who and where)
        guard.audit(viewer, "record.read", f"layer:{key}@{res.node.code}", detail={"permission": spec.permission})
    return _json_response(body, max_age=ctx.settings.geojson_cache_seconds)


@blueprint.get("/api/layers/<key>/<int:fid>")
def feature_detail(key: str, fid: int):
    spec = LAYERS.get(key)
    if spec is None or spec.kind not in ("point", "line"):
        return _refuse(404, "无此图层")
    viewer = current_viewer()
    obj = f"{key}:{fid}"
    try:
        guard.require(viewer, spec.permission, obj, log_grant=False)
    except AccessDenied:
        return _refuse(403, "无权查看该图层")
    ctx = current_context()
    with ctx.session() as s:
        row = s.get(spec.model, fid) if spec.model is not None else None
        if row is None:  # answered like a record outside the scope (no existence oracle), audited
            guard.refuse(viewer, obj, "not_found")
            return _refuse(403, "记录不存在或无权查看")
        area = row.finest_area
        try:
            guard.require_area(viewer, area, obj)  # outside the scope: 403, audited
        except AccessDenied:
            return _refuse(403, "记录不存在或无权查看")
        rows = spec.detail(s, viewer.scope, fid)  # masked for everyone (docs/security.md §4); 「显示」: /api/unmask
        building = getattr(row, "building_id", None)  # a household's (以房管人)
    if rows is None:
        return _refuse(404, "记录不存在或无权查看")
    if spec.permission in SENSITIVE:
        guard.audit(viewer, "record.view", obj, detail={"permission": spec.permission, "area": area})
    answer = {"title": spec.title, "rows": rows}
    if building is not None and viewer.can(perm.VIEW_PERSONS):  # 以房管人: the household's building, on request
        answer["more"] = {"label": "本楼住户与人员", "url": f"/api/popup/building/{building}"}
    body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
    return _json_response(body, max_age=0, content_type="application/json")
