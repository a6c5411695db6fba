"""Video routes (docs/video.md). The console hands out play addresses; video never passes through it.

GET /api/video/config                   the wall's limits (cap on streams, stall timeout) and gateway state
GET /api/video/cameras?q=TEXT           cameras in scope by name or device code
GET /api/video/nearby?alert=ID&n=9      the nearest online cameras to an alert (distance, view direction)
GET /api/video/play/<camera id>?variant=hls|flv|h264
                                        a play ticket: {url: /video/stream/<token>, player, codec, variants}
GET /video/stream/<token>               checks the token and the viewer again, then 302 to the gateway
POST /api/video/webrtc/<token>          body: the browser's SDP offer → the media server's SDP answer
POST /api/video/ptz/<camera id>         {"command": "left"|…|"stop", "speed": 1–255} → wvp's PTZ (video:ptz)
POST /api/video/playback/<camera id>    {"start", "end"} → the platform's playback address for the wall's players
POST /api/video/playback/<camera id>/stop  {"stream"} → release the playback session
GET /api/coverage?area=CODE             per grid of the area: households covered by camera sectors, the gaps

Every video path needs `view:video`, coverage `layer:cameras` (declared once in `register`, checked by the gate); the service checks it
again per camera with the camera's area scope and audits each play. Refusals answer JSON with a Chinese
`error` and a stable `reason` the page turns into the window's message.
"""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, current_app, redirect, request

from console.security.guard import AccessDenied
from console.services.context import TTLCache, current_context
from console.services.viewer import current_viewer
from console.video import control, coverage_service, service
from console.video.gateway import VARIANTS, VideoSettings
from console.video.tokens import TokenError

blueprint = Blueprint("pingan_video", __name__)
SETTINGS_KEY = "PINGAN_VIDEO"
INDEX_KEY = "PINGAN_VIDEO_INDEX"
CLIENT_KEY = "PINGAN_VIDEO_WVP"  # the platform client (None without PINGAN_VIDEO_WVP_API)
TOKEN_STATUS = {"malformed": 400, "signature": 403, "expired": 410}


def video_settings() -> VideoSettings:
    return current_app.config[SETTINGS_KEY]


def platform_client():
    return current_app.config.get(CLIENT_KEY)


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8", headers={"Cache-Control": "no-store"})


def _error(reason: str, message: str, status: int) -> Response:
    return _json({"error": message, "reason": reason}, status)


def _int_arg(name: str, default: int, low: int, high: int) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    return int(raw) if raw.isdigit() and low <= int(raw) <= high else None


@blueprint.get("/api/video/config")
def config():
    v = video_settings()
    return _json({"configured": v.configured, "problem": v.problem, "max_streams": v.max_streams,
                  "platform": bool(platform_client()),
                  "stall_seconds": v.stall_seconds, "token_seconds": v.token_seconds})


@blueprint.get("/api/video/cameras")
def cameras():
    limit = _int_arg("limit", 20, 1, service.MAX_LIST)
    if limit is None:
        return _error("bad_request", f"limit 应为 1–{service.MAX_LIST} 的整数", 400)
    with current_context().session() as s:
        return _json({"cameras": service.search(s, current_viewer(), request.args.get("q", ""), limit)})


@blueprint.get("/api/video/nearby")
def nearby():
    alert = _int_arg("alert", 0, 1, 2**62)
    n = _int_arg("n", 9, 1, 100)
    if not alert or n is None:
        return _error("bad_request", "请求格式错误：需要预警编号 alert 和 1–100 的台数 n", 400)
    ctx = current_context()
    v = video_settings()
    cache: TTLCache = current_app.config[INDEX_KEY]
    with ctx.session() as s:
        index = cache.get_or_set("index", lambda: service.CameraIndex.load(s))
        return _json(service.nearby(s, current_viewer(), index, alert, n, v.max_streams))


@blueprint.get("/api/video/play/<int:camera_id>")
def play(camera_id: int):
    variant = request.args.get("variant", "")
    if variant and variant not in VARIANTS:
        return _error("bad_request", f"variant 应为 {'、'.join(VARIANTS)} 之一", 400)
    with current_context().session() as s:
        return _json(service.play(s, current_viewer(), video_settings(), camera_id, variant,
                                  client=platform_client()))


@blueprint.post("/api/video/webrtc/<token>")
def webrtc(token: str):
    offer = request.get_data(cache=False, as_text=True)[:64_001]
    with current_context().session() as s:
        answer = control.webrtc_answer(s, current_viewer(), video_settings(), token, offer)
    return Response(answer, status=201, content_type="application/sdp", headers={"Cache-Control": "no-store"})


@blueprint.post("/api/video/ptz/<int:camera_id>")
def ptz(camera_id: int):
    body = _body()
    speed = body.get("speed", 100)
    if not isinstance(speed, int) or isinstance(speed, bool):
        return _error("bad_request", "云台速度应为 1–255 的整数", 400)
    with current_context().session() as s:
        return _json(control.ptz(s, current_viewer(), video_settings(), platform_client(), camera_id,
                                 str(body.get("command", "")), speed))


@blueprint.post("/api/video/playback/<int:camera_id>")
def playback(camera_id: int):
    body = _body()
    with current_context().session() as s:
        return _json(control.playback(s, current_viewer(), video_settings(), platform_client(), camera_id,
                                      str(body.get("start", "")), str(body.get("end", ""))))


@blueprint.post("/api/video/playback/<int:camera_id>/stop")
def playback_stop(camera_id: int):
    with current_context().session() as s:
        return _json(control.playback_stop(s, current_viewer(), video_settings(), platform_client(), camera_id,
                                           str(_body().get("stream", ""))))


@blueprint.get("/video/stream/<token>")
def stream(token: str):
    with current_context().session() as s:
        url = service.redirect_target(s, current_viewer(), video_settings(), token)
    resp = redirect(url, 302)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@blueprint.get("/api/coverage")
def area_coverage():
    area = request.args.get("area", "")
    top = _int_arg("top", 20, 1, 200)
    if not area.isdigit() or len(area) not in (6, 9, 12, 15) or top is None:
        return _error("bad_request", "请求格式错误：area 应为 6/9/12/15 位区划或网格编码，top 为 1–200", 400)
    with current_context().session() as s:
        return _json(coverage_service.area_coverage(s, current_viewer(), area, top))


def register(server: Flask, settings: VideoSettings, security) -> None:
    """Mount the routes (their permissions: console/security/registry.py); `settings` is the site's gateway
    (PINGAN_VIDEO_*)."""
    server.config[SETTINGS_KEY] = settings
    server.config[CLIENT_KEY] = control.client_for(settings)
    server.config[INDEX_KEY] = TTLCache(2, 30)  # camera positions and status: refreshed every 30 s
    server.register_blueprint(blueprint)


# The services' refusals, answered in one place for every route of the blueprint (a JSON body naming why)
@blueprint.errorhandler(AccessDenied)
def _denied(exc):  # already audited by the guard
    return _error("denied", str(exc), 403)


@blueprint.errorhandler(service.VideoError)
def _refused(exc: service.VideoError):
    return _error(exc.reason, str(exc), exc.status)


@blueprint.errorhandler(TokenError)
def _bad_token(exc: TokenError):
    return _error("token_" + exc.reason, str(exc), TOKEN_STATUS[exc.reason])
