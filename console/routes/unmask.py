"""POST /api/unmask — one full value for a map popup's 「显示」 link.

Body: {"kind": "household", "id": 123, "field": "address"} (kinds and fields: `services.unmask.REVEALABLE`).
Answers {"value": "..."}; 400 for a malformed body, 403 without the `unmask` permission or outside the
scope, 404 for an unknown record — refusals audited by the guard, grants audited as ``unmask``. The
security gate has already checked the session and the CSRF token (the page's script sends X-CSRFToken).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from console.security import throttle
from console.security.guard import AccessDenied
from console.services import unmask
from console.services.context import current_context
from console.services.viewer import current_viewer

blueprint = Blueprint("pingan_unmask", __name__)
REFUSED = "无权查看完整信息（已记录）"


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8", headers={"Cache-Control": "no-store"})


@blueprint.post("/api/unmask")
def reveal():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), (str, int)) for k in ("kind", "id", "field")):
        return _json({"error": "请求格式错误：需要 kind、id、field"}, 400)
    try:
        value = unmask.reveal(current_context().session, current_viewer(), str(body["kind"])[:16], body["id"],
                              field=str(body["field"])[:32], via="popup")
    except throttle.Throttled as exc:
        return _json({"error": str(exc)}, 429)
    except AccessDenied:
        return _json({"error": REFUSED}, 403)
    except unmask.UnmaskError as exc:
        return _json({"error": str(exc)}, 404)
    return _json({"value": value})
