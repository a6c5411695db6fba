"""A stand-in for wvp-GB28181-pro's HTTP API and ZLMediaKit's WebRTC signalling, started by the tests on
127.0.0.1 (docs/video.md "Platform API"). It answers the documented contract — `{"code": 0, "msg", "data"}`,
`access-token` after `/api/user/login` with the md5 of the password, StreamContent addresses — and the failures a
site sees: a device offline (code 100), a refused command, a platform that does not answer in time, an expired
token (401). Every request is recorded for the tests to check what the console sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

USER, PASSWORD = "admin", "wvp-secret"


class FakeWvp:
    def __init__(self, media_base: str = ""):
        self.requests: list[dict] = []
        self.offline: set[str] = set()  # channel ids answering 设备离线
        self.slow: set[str] = set()  # channel ids that answer only after `delay` seconds
        self.delay = 3.0
        self.token = "tok-1"
        self.media_base = media_base  # where the StreamContent addresses point (the test's nginx, or a fake host)
        self.playback_base = ""  # overrides media_base for playback answers
        self.playback_hls = ""  # the playback answer's hls address, whole (the browser test's nginx stream)
        self.rtc_refuse = False
        self.url = ""

    # ---- the answers ------------------------------------------------------------------------------------
    def stream(self, app: str, stream: str, base: str) -> dict:
        host = base.split("://", 1)[1]
        return {"app": app, "stream": stream, "ip": host.split(":")[0],
                "hls": f"{base}/{app}/{stream}/hls.m3u8", "flv": f"{base}/{app}/{stream}.live.flv",
                "ws_flv": f"ws://{host}/{app}/{stream}.live.flv",
                "rtc": f"{base}/index/api/webrtc?app={app}&stream={stream}&type=play", "mediaServerId": "zlm-1"}

    def answer(self, method: str, path: str, query: dict, headers, body: bytes):
        parts = [p for p in path.split("/") if p]
        if path == "/api/user/login":
            ok = query.get("username") == USER and query.get("password") == hashlib.md5(PASSWORD.encode()).hexdigest()
            return 200, {"code": 0, "msg": "成功", "data": {"accessToken": self.token}} if ok else \
                {"code": -1, "msg": "用户名或密码错误"}
        if path.startswith("/index/api/webrtc") or path.startswith("/index/api/whep"):
            if self.rtc_refuse:
                return 200, {"code": -400, "msg": "stream not found"}
            if not body.startswith(b"v=0"):
                return 200, {"code": -1, "msg": "bad offer"}
            sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=answer\r\n"
            if path.startswith("/index/api/whep"):
                return 201, ("application/sdp", sdp)
            return 200, {"code": 0, "id": "zlm_rtc_1", "sdp": sdp, "type": "answer"}
        if headers.get("access-token") != self.token:
            return 401, {"code": 401, "msg": "请登录后重新请求"}
        channel = parts[-1] if len(parts) >= 5 else ""
        if path.startswith("/api/playback/stop/"):
            channel = parts[-2]
        if channel in self.slow:
            time.sleep(self.delay)
        if channel in self.offline:
            return 200, {"code": 100, "msg": "设备离线"}
        if path.startswith("/api/play/start/"):
            return 200, {"code": 0, "msg": "成功", "data": self.stream("rtp", f"{parts[-2]}_{parts[-1]}", self.media_base)}
        if path.startswith("/api/playback/start/"):
            if not query.get("startTime") or not query.get("endTime"):
                return 200, {"code": 400, "msg": "参数不全"}
            data = self.stream("rtp", f"{parts[-2]}_{parts[-1]}_pb", self.playback_base or self.media_base)
            data.update(startTime=query["startTime"], endTime=query["endTime"])
            if self.playback_hls:
                data["hls"] = self.playback_hls
            return 200, {"code": 0, "msg": "成功", "data": data}
        if path.startswith("/api/front-end/ptz/"):
            if query.get("command") not in ("up", "down", "left", "right", "upleft", "upright", "downleft",
                                            "downright", "zoomin", "zoomout", "stop"):
                return 200, {"code": 100, "msg": "未知指令"}
            return 200, None  # void: an empty body
        if path.startswith(("/api/play/stop/", "/api/playback/stop/")):
            return 200, None
        return 404, {"code": 404, "msg": "not found"}


@contextmanager
def fake_wvp(media_base: str = "http://127.0.0.1:1"):
    fake = FakeWvp(media_base)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self, method):
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.requests.append({"method": method, "path": parts.path, "query": query,
                                  "token": self.headers.get("access-token"), "body": body,
                                  "content_type": self.headers.get("Content-Type", "")})
            status, payload = fake.answer(method, parts.path, query, self.headers, body)
            if isinstance(payload, tuple):
                ctype, text = payload
                data = text.encode()
            else:
                ctype, data = "application/json", (b"" if payload is None else json.dumps(payload).encode())
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the console gave up waiting (timeout tests)
                pass

        def do_GET(self):  # noqa: N802
            self._handle("GET")

        def do_POST(self):  # noqa: N802
            self._handle("POST")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
