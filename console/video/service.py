"""Playing cameras for a viewer: permission and scope per camera, audited; the nearest cameras to an alert.

Reads only. Every answer touching a camera checks `view:video` and that the camera lies in the viewer's
area scope (`guard`); each play address handed out is written to the audit log (``video.play``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from console.security import guard
from console.security.guard import AccessDenied, Viewer
from console.security.permissions import VIEW_VIDEO
from console.store import Alert, Camera
from console.store.codes import CAMERA_KINDS, CAMERA_STATUS, OPEN_ALERT_STATES

from . import gateway, nearest, tokens, wvp
from .gateway import VideoSettings

PTZ_KINDS = frozenset({"dome"})  # 球机: the only kind with a pan/tilt head
MAX_LIST = 64  # cameras one list answer carries (a search, "nearby")


class VideoError(LookupError):
    """A camera that cannot be played; `reason` is a stable key for the page, `str()` the Chinese message."""

    def __init__(self, reason: str, message: str, status: int = 409):
        super().__init__(message)
        self.reason, self.status = reason, status


def _camera_row(c, distance: float | None = None, faces: bool | None = None) -> dict:
    row = {"id": int(c.id), "name": c.name, "device_id": c.device_id, "kind": CAMERA_KINDS.get(c.kind, c.kind),
           "ptz": c.kind in PTZ_KINDS,
           "status": c.status, "status_label": CAMERA_STATUS.get(c.status, c.status),
           "direction": c.direction}
    if distance is not None:
        row["distance_m"] = round(float(distance))
        row["faces"] = bool(faces)
    return row


def _code(c) -> str | None:
    return c.grid_code or c.village_code or c.town_code or c.county_code


def camera_for(s: Session, viewer: Viewer, camera_id: int) -> Camera:
    """The camera, if the viewer may watch it (permission, then scope; refusals audited)."""
    guard.require(viewer, VIEW_VIDEO, f"camera:{camera_id}")
    cam = s.get(Camera, camera_id)
    if cam is None:
        raise VideoError("unknown", "没有这台摄像机", 404)
    guard.require_area(viewer, cam.finest_area, f"camera:{camera_id}")
    return cam


def platform_ids(settings: VideoSettings, cam) -> tuple[str, str]:
    """(device, channel) as wvp names them: the NVR / platform device the channel belongs to, and the channel."""
    own = settings.addresses.get(cam.device_id)
    return (own.parent_id if own is not None and own.parent_id else cam.device_id), cam.device_id


def platform_error(err: wvp.PlatformError) -> VideoError:
    """A platform failure as the window's reason: unreachable / timed out → gateway_down, else its answer."""
    if err.reason in ("unreachable", "timeout"):
        return VideoError("gateway_down", str(err), 504)
    return VideoError("platform", str(err), 502)


def play(s: Session, viewer: Viewer, settings: VideoSettings, camera_id: int, variant: str = "",
         now: float | None = None, client: wvp.WvpClient | None = None) -> dict:
    """A play ticket: the signed address the browser opens (``/video/stream/<token>``, or for WebRTC the
    offer/answer exchange ``/api/video/webrtc/<token>``), the player kind, the codec when known and the other
    variants this camera offers. With the platform API (`client`) the camera is invited first, so the
    platform's reasons (device offline, invite timeout) reach the window. Audited as ``video.play``."""
    cam = camera_for(s, viewer, camera_id)
    if settings.problem:
        raise VideoError("gateway_config", settings.problem)
    if not settings.configured:
        raise VideoError("gateway_config", "未配置视频网关（请系统管理员在部署设置中配置）")
    if cam.status != "online":
        beat = cam.last_heartbeat.strftime("%Y-%m-%d %H:%M") if cam.last_heartbeat else "无"
        raise VideoError("offline", f"摄像机离线（最后心跳 {beat}）")
    offered = gateway.variants_of(settings, cam.id, cam.device_id)
    variant = variant or (settings.prefer if settings.prefer in offered else next(iter(offered), ""))
    if variant not in offered:
        raise VideoError("no_address", "该摄像机没有可用的视频流地址" if not offered
                         else f"该摄像机没有{'转码' if variant == 'h264' else variant.upper()}流地址")
    if client is not None:
        try:
            client.play_start(*platform_ids(settings, cam))
        except wvp.PlatformError as exc:
            raise platform_error(exc) from None
    now = time.time() if now is None else now
    token = tokens.sign(settings.secret, cam.id, variant, viewer.username, now, settings.token_seconds)
    own = settings.addresses.get(cam.device_id)
    guard.audit(viewer, "video.play", f"camera:{cam.id}", guard.GRANTED,
                {"variant": variant, "device_id": cam.device_id, "area": cam.finest_area})
    webrtc = variant == "webrtc"
    return {"camera": _camera_row(cam), "url": f"/api/video/webrtc/{token}" if webrtc else f"/video/stream/{token}",
            "variant": variant, "player": "webrtc" if webrtc else player_for(offered[variant]), "codec": "h264" if variant == "h264" else (own.codec if own else ""),
            "expires": int(now) + settings.token_seconds, "variants": sorted(offered)}


def player_for(url: str) -> str:
    """Which vendored player opens an address: hls.js for a playlist, mpegts.js for (WS-)FLV."""
    path = url.split("?", 1)[0].lower()
    return "hls" if path.endswith(".m3u8") else "flv"


def redirect_target(s: Session, viewer: Viewer, settings: VideoSettings, token: str,
                    now: float | None = None) -> str:
    """The gateway address behind a signed play address, after checking the signature, the expiry and
    (again) the viewer's right to this camera. Raises TokenError, AccessDenied or VideoError."""
    t = tokens.verify(settings.secret, token, viewer.username, time.time() if now is None else now)
    cam = camera_for(s, viewer, t.camera_id)
    url = gateway.play_address(settings, cam.id, cam.device_id, t.variant)
    if t.variant == "webrtc":  # not an address to open: the offer/answer goes through /api/video/webrtc
        raise VideoError("bad_request", "WebRTC 播放地址不能直接打开", 400)
    if not url:
        raise VideoError("no_address", "该摄像机没有可用的视频流地址")
    return url


def search(s: Session, viewer: Viewer, text: str, limit: int = 20) -> list[dict]:
    """Cameras in the viewer's scope whose name or device code contains `text` (online first)."""
    guard.require(viewer, VIEW_VIDEO, "camera:search")
    q = select(Camera).where(guard.scope_clause(viewer, Camera))
    text = (text or "").strip()[:40]
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        q = q.where(or_(Camera.name.like(like), Camera.device_id.like(like)))
    q = q.order_by(Camera.status.desc(), Camera.id).limit(max(1, min(limit, MAX_LIST)))
    return [_camera_row(c) for c in s.scalars(q)]


@dataclass(frozen=True)
class CameraIndex:
    """Every camera as arrays, for vectorised nearest-camera queries (built once, reused for a while)."""
    ids: np.ndarray
    lons: np.ndarray
    lats: np.ndarray
    directions: np.ndarray
    fovs: np.ndarray
    online: np.ndarray
    codes: np.ndarray  # finest area code, for the scope mask
    _unique: tuple | None = field(default=None, compare=False, repr=False)
    _masks: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, s: Session) -> CameraIndex:
        rows = s.execute(select(Camera.id, Camera.lon, Camera.lat, Camera.direction, Camera.kind, Camera.status,
                                Camera.grid_code, Camera.village_code, Camera.town_code, Camera.county_code)).all()
        fov = nearest.DEFAULT_FOV
        return cls(ids=np.array([r.id for r in rows], dtype=np.int64),
                   lons=np.array([r.lon if r.lon is not None else np.nan for r in rows], dtype=float),
                   lats=np.array([r.lat if r.lat is not None else np.nan for r in rows], dtype=float),
                   directions=np.array([r.direction or 0 for r in rows], dtype=float),
                   fovs=np.array([fov.get(r.kind, 60.0) for r in rows], dtype=float),
                   online=np.array([r.status == "online" for r in rows], dtype=bool),
                   codes=np.array([_code(r) or "" for r in rows], dtype=str))

    def in_scope(self, viewer: Viewer) -> np.ndarray:
        """The scope rule (`AreaScope.allows`) once per distinct area code, spread back over the cameras;
        kept per scope for the life of the index (cameras do not change areas between two refreshes)."""
        key = tuple(sorted(viewer.scope.codes)) + (viewer.scope.is_city,)
        mask = self._masks.get(key)
        if mask is None:
            if self._unique is None:
                object.__setattr__(self, "_unique", np.unique(self.codes, return_inverse=True))
            codes, inverse = self._unique
            allowed = np.array([viewer.scope.allows(str(c)) for c in codes], dtype=bool)
            mask = allowed[inverse] if codes.size else np.zeros(0, dtype=bool)
            self._masks[key] = mask
        return mask


def nearby(s: Session, viewer: Viewer, index: CameraIndex, alert_id: int, n: int, max_streams: int) -> dict:
    """The nearest online cameras to an alert the viewer may see, at most `max_streams` (the wall's cap)."""
    guard.require(viewer, VIEW_VIDEO, f"alert:{alert_id}")
    alert = s.get(Alert, alert_id)
    if alert is None:
        raise VideoError("unknown", "没有这条预警", 404)
    guard.require_area(viewer, alert.finest_area, f"alert:{alert_id}")
    if alert.lon is None or alert.lat is None:
        raise VideoError("no_position", "该预警没有位置，无法查找附近摄像机")
    capped = min(n, max_streams)
    idx, dist, faces = nearest.nearest(alert.lon, alert.lat, index.lons, index.lats, index.directions, index.fovs,
                                       index.online & index.in_scope(viewer), capped)
    ids = [int(index.ids[i]) for i in idx]
    cams = {c.id: c for c in s.scalars(select(Camera).where(Camera.id.in_(ids)))} if ids else {}
    rows = [_camera_row(cams[i], d, f) for i, d, f in zip(ids, dist, faces) if i in cams]
    note = f"同时播放上限为 {max_streams} 路，已只取最近的 {capped} 台" if n > max_streams else ""
    return {"alert": {"id": alert.id, "title": alert.title, "lon": alert.lon, "lat": alert.lat},
            "cameras": rows, "note": note}


def open_alerts(s: Session, viewer: Viewer, limit: int = 50) -> list[dict]:
    """Open alerts with a position in the viewer's scope, newest first: what "附近摄像机" can start from."""
    if not viewer.can(VIEW_VIDEO):
        return []
    rows = s.execute(select(Alert.id, Alert.title, Alert.raised_at).where(
        Alert.state.in_(OPEN_ALERT_STATES), Alert.lon.is_not(None), guard.scope_clause(viewer, Alert))
        .order_by(Alert.id.desc()).limit(limit)).all()
    return [{"id": r.id, "title": r.title, "raised_at": r.raised_at.strftime("%m-%d %H:%M")} for r in rows]
