"""The media gateway setting: where a camera's picture is played from (docs/video.md "Gateway settings").

A site runs a GB/T 28181 platform (wvp-GB28181-pro with ZLMediaKit) or plain per-camera HLS/FLV addresses.
The console only fills in address templates; the gateway starts a stream when it is first requested and
releases it when nobody watches (ZLMediaKit's on_stream_not_found / on_stream_none_reader hooks, which wvp
answers). Everything is read from PINGAN_VIDEO_* variables; a broken setting never stops the console, it is
reported (`problem`) in every window instead.
"""

from __future__ import annotations

import csv
import os
import secrets
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

PLACEHOLDERS = frozenset({"base", "device_id", "parent_id", "camera_id"})
SCHEMES = ("http", "https", "ws", "wss")
VARIANTS = ("hls", "flv", "h264", "webrtc")  # h264: the gateway's transcoded stream offered for H.265 cameras

# ZLMediaKit's address rules (app "rtp", stream "<device>_<channel>" as wvp names GB/T 28181 streams):
#   HLS  http://host:port/<app>/<stream>/hls.m3u8     HTTP-FLV  http://host:port/<app>/<stream>.live.flv
PRESETS: dict[str, dict[str, str]] = {
    "zlm": {"hls": "{base}/rtp/{parent_id}_{device_id}/hls.m3u8",
            "flv": "{base}/rtp/{parent_id}_{device_id}.live.flv"},
    "wvp": {"hls": "{base}/rtp/{parent_id}_{device_id}/hls.m3u8",
            "flv": "{base}/rtp/{parent_id}_{device_id}.live.flv"},
    "template": {},
}
GATEWAY_LABELS = {"zlm": "ZLMediaKit", "wvp": "wvp-GB28181-pro + ZLMediaKit", "template": "按摄像机地址模板"}


class GatewayError(ValueError):
    """A setting that cannot work; the message (Chinese) names the variable and what is wrong."""


@dataclass(frozen=True)
class CameraAddress:
    """One row of the per-camera address list (PINGAN_VIDEO_URLS): any column may be empty."""
    hls: str = ""
    flv: str = ""
    h264: str = ""
    codec: str = ""  # "h264" / "h265" as the platform's device list says; "" = unknown
    parent_id: str = ""  # the NVR / platform device the channel belongs to


@dataclass(frozen=True)
class VideoSettings:
    kind: str = ""  # "", "zlm", "wvp" or "template"
    base: str = ""
    templates: dict[str, str] = field(default_factory=dict)  # variant -> template
    addresses: dict[str, CameraAddress] = field(default_factory=dict)  # device_id -> per-camera addresses
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    token_seconds: int = 60  # a play address must be opened within this time (the stream then runs on)
    max_streams: int = 16  # concurrent streams one console page may open
    stall_seconds: int = 8  # no progress for this long: the window reconnects
    prefer: str = "hls"  # which variant a window opens first
    wvp_api: str = ""  # wvp-GB28181-pro's HTTP API root: live start, playback, PTZ (docs/video.md "Platform API")
    wvp_user: str = ""
    wvp_password: str = field(default="", repr=False)
    wvp_token: str = field(default="", repr=False)
    api_timeout: int = 8  # seconds a platform call may take
    problem: str = ""  # why the setting cannot work (shown in every window); "" when it can

    @property
    def configured(self) -> bool:
        return bool(self.kind or self.addresses) and not self.problem

    def origins(self) -> tuple[str, ...]:
        """Scheme://host[:port] of every gateway address: the page's CSP must allow them (media, connect)."""
        urls = [self.base, *self.templates.values()]  # not wvp_api: only the console calls it
        for a in self.addresses.values():
            urls += [a.hls, a.flv, a.h264]
        out = []
        for u in urls:
            parts = urlsplit(u.replace("{", "").replace("}", ""))
            if parts.scheme in SCHEMES and parts.netloc:
                origin = f"{parts.scheme}://{parts.netloc}"
                if origin not in out:
                    out.append(origin)
        return tuple(out)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> VideoSettings:
        env = os.environ if env is None else env
        values: dict = {}
        try:
            values = _read_env(env)
        except GatewayError as exc:
            values["problem"] = str(exc)
        return replace(cls(**values), **overrides)


def _int(env, name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise GatewayError(f"视频网关配置错误：{name}={raw!r} 应为 {low}–{high} 的整数")
    return int(raw)


def _read_env(env) -> dict:
    values: dict = {}
    kind = env.get("PINGAN_VIDEO_GATEWAY", "").strip().lower()
    if kind and kind not in PRESETS:
        raise GatewayError(f"视频网关配置错误：PINGAN_VIDEO_GATEWAY={kind!r} 应为 {'、'.join(PRESETS)} 之一")
    base = env.get("PINGAN_VIDEO_BASE", "").strip().rstrip("/")
    templates = dict(PRESETS.get(kind, {}))
    for variant in VARIANTS:
        raw = env.get(f"PINGAN_VIDEO_{variant.upper()}", "").strip()
        if raw:
            templates[variant] = raw
    if kind in ("zlm", "wvp") and not base:
        raise GatewayError("视频网关配置错误：使用 ZLMediaKit / wvp 时需设置 PINGAN_VIDEO_BASE（如 http://10.0.0.5:80）")
    if base:
        check_url(base, "PINGAN_VIDEO_BASE")
    for variant, template in templates.items():
        check_template(template, f"PINGAN_VIDEO_{variant.upper()}")
    if env.get("PINGAN_VIDEO_URLS"):
        values["addresses"] = read_addresses(Path(env["PINGAN_VIDEO_URLS"]))
    if kind == "template" and not templates and not values.get("addresses"):
        raise GatewayError("视频网关配置错误：PINGAN_VIDEO_GATEWAY=template 时需设置 PINGAN_VIDEO_HLS 或 PINGAN_VIDEO_FLV "
                           "模板，或 PINGAN_VIDEO_URLS 地址表")
    if env.get("PINGAN_VIDEO_SECRET"):
        values["secret"] = env["PINGAN_VIDEO_SECRET"].encode("utf-8")
    prefer = env.get("PINGAN_VIDEO_PREFER", "hls").strip().lower() or "hls"
    if prefer not in ("hls", "flv", "webrtc"):
        raise GatewayError(f"视频网关配置错误：PINGAN_VIDEO_PREFER={prefer!r} 应为 hls、flv 或 webrtc")
    if prefer == "webrtc" and "webrtc" not in templates:
        raise GatewayError("视频网关配置错误：PINGAN_VIDEO_PREFER=webrtc 时需设置 PINGAN_VIDEO_WEBRTC 模板")
    wvp_api = env.get("PINGAN_VIDEO_WVP_API", "").strip().rstrip("/")
    if wvp_api:
        check_url(wvp_api, "PINGAN_VIDEO_WVP_API")
        if urlsplit(wvp_api).scheme not in ("http", "https"):
            raise GatewayError("视频网关配置错误：PINGAN_VIDEO_WVP_API 应为 http(s):// 地址")
    user, password = env.get("PINGAN_VIDEO_WVP_USER", "").strip(), env.get("PINGAN_VIDEO_WVP_PASSWORD", "")
    if bool(user) != bool(password):
        raise GatewayError("视频网关配置错误：PINGAN_VIDEO_WVP_USER 与 PINGAN_VIDEO_WVP_PASSWORD 需同时设置")
    values.update(wvp_api=wvp_api, wvp_user=user, wvp_password=password,
                  wvp_token=env.get("PINGAN_VIDEO_WVP_TOKEN", "").strip(),
                  api_timeout=_int(env, "PINGAN_VIDEO_API_TIMEOUT", 8, 1, 60))
    values.update(kind=kind, base=base, templates=templates, prefer=prefer,
                  token_seconds=_int(env, "PINGAN_VIDEO_TOKEN_SECONDS", 60, 10, 3600),
                  max_streams=_int(env, "PINGAN_VIDEO_MAX_STREAMS", 16, 1, 64),
                  stall_seconds=_int(env, "PINGAN_VIDEO_STALL_SECONDS", 8, 2, 120))
    return values


def check_url(url: str, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.netloc:
        raise GatewayError(f"视频网关配置错误：{where} 不是 http(s):// 或 ws(s):// 地址：{url!r}")


def check_template(template: str, where: str) -> None:
    """Known placeholders only, balanced braces, an absolute address once filled in."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        raise GatewayError(f"视频网关配置错误：{where} 的花括号不成对：{template!r}") from None
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise GatewayError(f"视频网关配置错误：{where} 含未知占位符 {{{'}、{'.join(unknown)}}}，"
                           f"可用：{'、'.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}")
    sample = template.format(base="http://gateway", device_id="1", parent_id="1", camera_id="1")
    check_url(sample, where)


ADDRESS_COLUMNS = ("device_id", "hls", "flv", "h264", "codec", "parent_id")


def read_addresses(path: Path) -> dict[str, CameraAddress]:
    """The per-camera address list: a CSV (UTF-8, header row) with a device_id column and any of
    hls, flv, h264, codec, parent_id. A bad row names its line; nothing is half-read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GatewayError(f"视频网关配置错误：无法读取摄像机地址表 {path}（{exc.__class__.__name__}）") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "device_id" not in header:
        raise GatewayError(f"视频网关配置错误：摄像机地址表 {path.name} 缺少 device_id 列")
    out: dict[str, CameraAddress] = {}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k}
        device = row.get("device_id", "")
        if not device:
            raise GatewayError(f"视频网关配置错误：摄像机地址表第 {line} 行缺少 device_id")
        codec = row.get("codec", "").lower().replace(".", "")
        codec = {"h265": "h265", "hevc": "h265", "h264": "h264", "avc": "h264", "": ""}.get(codec)
        if codec is None:
            raise GatewayError(f"视频网关配置错误：摄像机地址表第 {line} 行 codec 应为 h264 或 h265")
        for col in ("hls", "flv", "h264"):
            if row.get(col):
                check_url(row[col], f"摄像机地址表第 {line} 行 {col} 列")
        out[device] = CameraAddress(row.get("hls", ""), row.get("flv", ""), row.get("h264", ""), codec,
                                    row.get("parent_id", ""))
    return out


def play_address(settings: VideoSettings, camera_id: int, device_id: str, variant: str) -> str:
    """The gateway address of one camera's stream, or "" when the site has none for it."""
    own = settings.addresses.get(device_id)
    if own is not None and getattr(own, variant, ""):
        return getattr(own, variant)
    template = settings.templates.get(variant)
    if not template:
        return ""
    parent = own.parent_id if own is not None and own.parent_id else device_id
    return template.format(base=settings.base, device_id=device_id, parent_id=parent, camera_id=camera_id)


def variants_of(settings: VideoSettings, camera_id: int, device_id: str) -> dict[str, str]:
    """Every variant this camera can be played as: {variant: gateway address}."""
    out = {}
    for v in VARIANTS:
        url = play_address(settings, camera_id, device_id, v)
        if url:
            out[v] = url
    return out
