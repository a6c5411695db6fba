"""What the wall asks of the platform (docs/video.md "Platform API"): turn a dome, play a past range, the WebRTC
offer/answer (the live invite before a ticket is `service.play`'s). Each checks the viewer (permission, the camera's area scope) first, then
calls wvp-GB28181-pro / ZLMediaKit server-side (`wvp`); PTZ and playback are audited. Pictures never pass here.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import Viewer
from console.security.permissions import VIDEO_PTZ

from . import gateway, tokens, wvp
from .gateway import VideoSettings
from .service import PTZ_KINDS, VideoError, camera_for, platform_error, platform_ids, player_for

PTZ_LABELS = {"up": "上", "down": "下", "left": "左", "right": "右", "upleft": "左上", "upright": "右上",
              "downleft": "左下", "downright": "右下", "zoomin": "放大", "zoomout": "缩小", "stop": "停止"}
MAX_PLAYBACK = timedelta(hours=24)  # one playback session; NVRs answer longer ranges slowly or not at all
INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


def client_for(settings: VideoSettings) -> wvp.WvpClient | None:
    """The platform client of a site that set PINGAN_VIDEO_WVP_API, else None."""
    if not settings.wvp_api or settings.problem:
        return None
    return wvp.WvpClient(settings.wvp_api, settings.wvp_user, settings.wvp_password, settings.wvp_token,
                         float(settings.api_timeout))


def _need_client(client) -> wvp.WvpClient:
    if client is None:
        raise VideoError("no_platform", "未配置视频平台接口（PINGAN_VIDEO_WVP_API），不能使用云台控制和录像回放")
    return client


def ptz(s: Session, viewer: Viewer, settings: VideoSettings, client, camera_id: int, command: str,
        speed: int = 100) -> dict:
    """Move a dome (press: a direction or zoom; release: `stop`). Needs video:ptz and the camera in scope;
    every command sent is audited (`video.ptz`), a platform refusal too."""
    guard.require(viewer, VIDEO_PTZ, f"camera:{camera_id}")
    cam = camera_for(s, viewer, camera_id)
    if command not in wvp.PTZ_COMMANDS:
        raise VideoError("bad_request", f"云台指令“{command}”无效（可用：{'、'.join(wvp.PTZ_COMMANDS)}）", 400)
    if not 1 <= speed <= 255:
        raise VideoError("bad_request", "云台速度应为 1–255", 400)
    if cam.kind not in PTZ_KINDS:
        raise VideoError("not_ptz", "该摄像机不是球机，没有云台", 409)
    if cam.status != "online":
        raise VideoError("offline", "摄像机离线，不能控制云台")
    client = _need_client(client)
    device, channel = platform_ids(settings, cam)
    detail = {"command": command, "speed": speed, "device_id": cam.device_id, "area": cam.finest_area}
    try:
        client.ptz(device, channel, command, speed)
    except wvp.PlatformError as exc:
        guard.audit(viewer, "video.ptz", f"camera:{cam.id}", guard.GRANTED, {**detail, "error": str(exc)})
        raise platform_error(exc) from None
    guard.audit(viewer, "video.ptz", f"camera:{cam.id}", guard.GRANTED, detail)
    return {"ok": True, "command": command, "label": PTZ_LABELS[command]}


def parse_range(start: str, end: str, now: datetime) -> tuple[datetime, datetime]:
    """A playback range from the page's date-time fields: both given, start before end, not in the future,
    at most MAX_PLAYBACK long. Pure; raises VideoError (400) naming what is wrong."""
    def one(raw: str, name: str) -> datetime:
        raw = (raw or "").strip()
        for fmt in INPUT_FORMATS:
            try:
                return datetime.strptime(raw, fmt)
            except ValueError:
                continue
        raise VideoError("bad_request", f"回放{name}“{raw[:20]}”格式错误，应为 年-月-日 时:分", 400)
    a, b = one(start, "开始时间"), one(end, "结束时间")
    if b <= a:
        raise VideoError("bad_request", "回放结束时间应晚于开始时间", 400)
    if a >= now:
        raise VideoError("bad_request", "回放开始时间不能晚于当前时间", 400)
    if b - a > MAX_PLAYBACK:
        raise VideoError("bad_request", f"一次回放最长 {int(MAX_PLAYBACK.total_seconds() // 3600)} 小时，请缩短时间段", 400)
    return a, min(b, now)


def playback(s: Session, viewer: Viewer, settings: VideoSettings, client, camera_id: int, start: str, end: str,
             now: datetime | None = None) -> dict:
    """Start the platform's playback of a past range (from the NVR / the device's storage) and hand the window
    its address, played by the same players. Audited as `video.playback`."""
    cam = camera_for(s, viewer, camera_id)
    a, b = parse_range(start, end, now or datetime.now())
    client = _need_client(client)
    device, channel = platform_ids(settings, cam)
    try:
        content = client.playback_start(device, channel, a.strftime(wvp.TIME_FORMAT), b.strftime(wvp.TIME_FORMAT))
    except wvp.PlatformError as exc:
        raise platform_error(exc) from None
    urls = wvp.stream_urls(content)
    variant = next((v for v in ("hls", "flv") if v in urls), "")
    if not variant:
        raise VideoError("no_address", "视频平台未返回可播放的回放地址（HLS 或 FLV）")
    url = urls[variant]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    if origin not in settings.origins():  # the page's CSP would block it: say so instead of a silent black window
        raise VideoError("gateway_config", f"视频平台返回的回放地址 {origin} 不在视频网关地址（PINGAN_VIDEO_BASE）之内")
    guard.audit(viewer, "video.playback", f"camera:{cam.id}", guard.GRANTED,
                {"start": a.isoformat(" "), "end": b.isoformat(" "), "device_id": cam.device_id,
                 "area": cam.finest_area})
    return {"camera": {"id": cam.id, "name": cam.name}, "url": url, "player": player_for(url), "variant": variant,
            "stream": str(content.get("stream") or ""), "start": a.strftime("%Y-%m-%d %H:%M"),
            "end": b.strftime("%Y-%m-%d %H:%M"), "playback": True}


def playback_stop(s: Session, viewer: Viewer, settings: VideoSettings, client, camera_id: int, stream: str) -> dict:
    """Release a playback session when its window closes (live streams are released by ZLMediaKit's hooks)."""
    cam = camera_for(s, viewer, camera_id)
    if not stream or len(stream) > 120 or not all(c.isalnum() or c in "_-." for c in stream):
        raise VideoError("bad_request", "回放流编号格式错误", 400)
    try:
        _need_client(client).playback_stop(*platform_ids(settings, cam), stream)
    except wvp.PlatformError as exc:
        raise platform_error(exc) from None
    return {"ok": True}


def webrtc_answer(s: Session, viewer: Viewer, settings: VideoSettings, token: str, offer: str,
                  now: float | None = None) -> str:
    """The media server's SDP answer to the browser's offer for a signed `webrtc` ticket: the token and the
    viewer are checked as for the redirect, then the offer is posted to the gateway's WebRTC/WHEP address.
    Only the session description passes here; the media flows between the browser and the media server."""
    t = tokens.verify(settings.secret, token, viewer.username, time.time() if now is None else now)
    if t.variant != "webrtc":
        raise tokens.TokenError("malformed")
    cam = camera_for(s, viewer, t.camera_id)
    if not offer.startswith("v=0") or len(offer) > 64_000:
        raise VideoError("bad_request", "WebRTC 会话描述（SDP）格式错误", 400)
    url = gateway.play_address(settings, cam.id, cam.device_id, "webrtc")
    if not url:
        raise VideoError("no_address", "该摄像机没有 WebRTC 播放地址")
    try:
        return wvp.sdp_exchange(url, offer, float(settings.api_timeout))
    except wvp.PlatformError as exc:
        raise platform_error(exc) from None
