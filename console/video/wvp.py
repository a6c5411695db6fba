"""The GB/T 28181 platform's HTTP API (wvp-GB28181-pro), called server-side (docs/video.md "Platform API").

Only signalling passes here — start a live or a playback session, move a dome, stop — never a picture: the
answers carry the media server's addresses, which the browser opens itself. Every call has a timeout; every
failure becomes a `PlatformError` whose message (Chinese) says what the platform answered or why it did not.

The contract followed (wvp-GB28181-pro's controllers, JSON `{"code": 0, "msg": ..., "data": ...}`, code 0 =
success; a `void` answer may be an empty body):

    GET /api/user/login?username=U&password=<md5 hex>     data.accessToken → header `access-token`
    GET /api/play/start/{deviceId}/{channelId}            data: StreamContent (hls, flv, ws_flv, rtc, …)
    GET /api/play/stop/{deviceId}/{channelId}
    GET /api/playback/start/{deviceId}/{channelId}?startTime=yyyy-MM-dd HH:mm:ss&endTime=…   data: StreamContent
    GET /api/playback/stop/{deviceId}/{channelId}/{stream}
    GET /api/front-end/ptz/{deviceId}/{channelId}?command=&horizonSpeed=0-255&verticalSpeed=0-255&zoomSpeed=0-15

ZLMediaKit's WebRTC play (`POST {base}/index/api/webrtc?app=&stream=&type=play`, body: the SDP offer, answer
JSON `{"code": 0, "sdp": …}`) and a standard WHEP endpoint (`POST`, `application/sdp`, answer `201` with the SDP)
are both spoken by `sdp_exchange`.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

PTZ_COMMANDS = ("up", "down", "left", "right", "upleft", "upright", "downleft", "downright", "zoomin", "zoomout",
                "stop")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # wvp's startTime / endTime
MAX_BODY = 256 * 1024  # an API answer or an SDP is a few kB; anything larger is not the platform


class PlatformError(RuntimeError):
    """`reason`: "unreachable", "timeout", "refused" (code ≠ 0), "bad_answer", "auth"; `str()` is Chinese."""

    def __init__(self, reason: str, message: str, code: int | None = None):
        super().__init__(message)
        self.reason, self.code = reason, code


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
         timeout: float = 8.0) -> Answer:
    """One HTTP exchange; network failures become PlatformError (never an exception of urllib)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (configured http(s) only)
            return Answer(resp.status, resp.headers.get("Content-Type", ""), resp.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers.get("Content-Type", "") if exc.headers else "", exc.read(MAX_BODY))
    except (socket.timeout, TimeoutError):
        raise PlatformError("timeout", f"视频平台未在 {timeout:g} 秒内响应") from None
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        if isinstance(why, (socket.timeout, TimeoutError)):
            raise PlatformError("timeout", f"视频平台未在 {timeout:g} 秒内响应") from None
        raise PlatformError("unreachable", "无法连接视频平台（网络不通或服务未启动）") from None


def _json(answer: Answer) -> dict:
    if not answer.body.strip():
        return {}
    try:
        data = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PlatformError("bad_answer", f"视频平台返回了无法识别的内容（HTTP {answer.status}）") from None
    if not isinstance(data, dict):
        raise PlatformError("bad_answer", "视频平台返回了无法识别的内容")
    return data


@dataclass
class WvpClient:
    """wvp-GB28181-pro's API for one site: `api` (e.g. http://10.8.0.5:18080), an account or a fixed token."""
    api: str
    user: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    timeout: float = 8.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _login(self) -> str:
        digest = hashlib.md5(self.password.encode("utf-8")).hexdigest()  # noqa: S324 (wvp's login contract)
        q = urllib.parse.urlencode({"username": self.user, "password": digest})
        answer = http("GET", f"{self.api}/api/user/login?{q}", timeout=self.timeout)
        data = _json(answer) if answer.status == 200 else {}
        token = (data.get("data") or {}).get("accessToken") if data.get("code") == 0 else None
        if not token:
            raise PlatformError("auth", "视频平台登录失败：请检查 PINGAN_VIDEO_WVP_USER / PINGAN_VIDEO_WVP_PASSWORD")
        return token

    def _headers(self, fresh: bool = False) -> dict:
        if self.user and (fresh or not self.token):
            with self._lock:
                self.token = self._login()
        return {"access-token": self.token, "Accept": "application/json"} if self.token else {"Accept": "application/json"}

    def call(self, path: str, params: dict | None = None):
        """GET an API path; the answer's `data` (None for a void answer). Logs in again once on 401."""
        url = f"{self.api}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        answer = http("GET", url, headers=self._headers(), timeout=self.timeout)
        if answer.status == 401 and self.user:
            answer = http("GET", url, headers=self._headers(fresh=True), timeout=self.timeout)
        if answer.status in (401, 403):
            raise PlatformError("auth", f"视频平台拒绝访问（HTTP {answer.status}）：请检查视频平台账户设置")
        data = _json(answer)
        if answer.status != 200:
            msg = data.get("msg") or f"HTTP {answer.status}"
            raise PlatformError("refused", f"视频平台出错：{msg}", data.get("code"))
        if data and data.get("code", 0) != 0:
            raise PlatformError("refused", f"视频平台拒绝：{data.get('msg') or '未说明原因'}（代码 {data.get('code')}）",
                                data.get("code"))
        return data.get("data") if data else None

    @staticmethod
    def _ids(device: str, channel: str) -> str:
        return f"{urllib.parse.quote(device, safe='')}/{urllib.parse.quote(channel, safe='')}"

    def play_start(self, device: str, channel: str) -> dict:
        return self.call(f"/api/play/start/{self._ids(device, channel)}") or {}

    def play_stop(self, device: str, channel: str) -> None:
        self.call(f"/api/play/stop/{self._ids(device, channel)}")

    def playback_start(self, device: str, channel: str, start: str, end: str) -> dict:
        return self.call(f"/api/playback/start/{self._ids(device, channel)}",
                         {"startTime": start, "endTime": end}) or {}

    def playback_stop(self, device: str, channel: str, stream: str) -> None:
        self.call(f"/api/playback/stop/{self._ids(device, channel)}/{urllib.parse.quote(stream, safe='')}")

    def ptz(self, device: str, channel: str, command: str, speed: int) -> None:
        """Move (or `stop`) a dome. `speed` 1–255 for pan/tilt; zoom's 0–15 scale is derived from it."""
        if command not in PTZ_COMMANDS:
            raise ValueError(command)
        zoom = max(1, min(15, round(speed * 15 / 255)))
        self.call(f"/api/front-end/ptz/{self._ids(device, channel)}",
                  {"command": command, "horizonSpeed": speed, "verticalSpeed": speed, "zoomSpeed": zoom})


def stream_urls(content: dict) -> dict[str, str]:
    """The addresses a StreamContent offers the wall's players: {"hls": …, "flv": …, "webrtc": …}."""
    out = {}
    for variant, keys in (("hls", ("hls", "https_hls")), ("flv", ("flv", "https_flv", "ws_flv", "wss_flv")),
                          ("webrtc", ("rtc", "rtcs"))):
        for k in keys:
            if isinstance(content.get(k), str) and content[k]:
                out[variant] = content[k]
                break
    return out


def sdp_exchange(url: str, offer: str, timeout: float = 8.0) -> str:
    """POST the browser's SDP offer to the media server; its answer SDP. ZLMediaKit's /index/api/webrtc answers
    JSON {"code": 0, "sdp": …}; a WHEP endpoint answers 201 (or 200) with application/sdp."""
    answer = http("POST", url, offer.encode("utf-8"), {"Content-Type": "application/sdp"}, timeout)
    ctype = answer.content_type.split(";")[0].strip().lower()
    if ctype == "application/sdp" and answer.status in (200, 201):
        return answer.body.decode("utf-8", "replace")
    data = _json(answer)
    if answer.status == 200 and data.get("code") == 0 and isinstance(data.get("sdp"), str):
        return data["sdp"]
    msg = data.get("msg") or f"HTTP {answer.status}"
    raise PlatformError("refused", f"媒体服务器拒绝 WebRTC 播放：{msg}", data.get("code"))
