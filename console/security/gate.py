"""The gate's shared state and helpers: the per-app `Security` object, cookies, CSRF, same-origin checks, the
current viewer. Both the gate (web.py) and the login pages (login_pages.py) build on these."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, Response, g, has_request_context, request

from .accounts import STAGE_CHANGE, STAGE_ENROLL, STAGE_TOTP
from .audit import Auditor
from .config import Settings
from .guard import REFUSED, Viewer
from .hardening import RateLimiter

log = logging.getLogger(__name__)

EXTENSION = "pingan_security"
PRE_COOKIE = "pingan_pre"  # pre-login CSRF (double submit)
DASH_CSRF_COOKIE = "_csrf_token"  # read by dash-renderer, sent back as X-CSRFToken
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATHS = frozenset({"/login", "/favicon.ico"})
STAGE_PATHS = {STAGE_TOTP: "/login/totp", STAGE_CHANGE: "/password", STAGE_ENROLL: "/totp/setup"}
REASONS = {
    "idle": "会话因空闲超时已结束，请重新登录。", "expired": "会话已到期，请重新登录。",
    "logout": "已安全退出。", "rights": "账户权限已变更，请重新登录。", "password": "密码已修改，请重新登录。",
    "disabled": "账户暂不可用。", "csrf": "页面已过期，请重新操作。", "locked": "账户已被锁定，请稍后再试或联系系统管理员。",
    "limit": "该账户在别处登录的会话过多，本会话已结束，请重新登录。",
}
NOT_LOGGED_IN = "未登录或会话已过期，请重新登录。"


def _csp(settings: Settings) -> str:
    extra = " ".join(settings.tile_sources)
    media = " ".join(settings.media_sources)  # players fetch from the gateway and play through blob: URLs
    return ("default-src 'self'; "
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "  # Dash renderer and Plotly need these
            "style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob: {extra}".rstrip() + "; "
            "font-src 'self' data:; "
            f"connect-src 'self' {extra} {media}".rstrip() + "; "
            f"media-src 'self' blob: {media}".rstrip() + "; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


def static_headers(settings: Settings) -> list[tuple[str, str]]:
    """The security headers every answer carries (Content-Security-Policy first: a route may set its own)."""
    out = [("Content-Security-Policy", _csp(settings)), ("X-Frame-Options", "DENY"),
           ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
           ("Cross-Origin-Opener-Policy", "same-origin"),
           ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
    if settings.secure_cookie:
        out.append(("Strict-Transport-Security", "max-age=31536000"))
    return out


@dataclass
class Security:
    server: Flask
    session_factory: object
    settings: Settings
    auditor: Auditor
    login_limiter: RateLimiter
    api_limiter: RateLimiter
    path_permissions: list[tuple[str, str]] = field(default_factory=list)
    callback_permissions: dict[str, str] = field(default_factory=dict)
    # output key of a Dash request → (known?, callback name); set by the console (console/pages/_gate.py)
    callbacks: object = None

    def protect_path(self, prefix: str, permission: str) -> None:
        """Every request under `prefix` needs `permission` (checked in the gate, audited on refusal)."""
        self.path_permissions.append((prefix, permission))
        self.path_permissions.sort(key=lambda p: -len(p[0]))

    def protect_callback(self, component_id: str, permission: str) -> None:
        """A Dash callback whose outputs include `component_id` needs `permission`."""
        self.callback_permissions[component_id] = permission


def security() -> Security:
    from flask import current_app

    return current_app.extensions[EXTENSION]


def client_ip() -> str:
    return (request.remote_addr or "")[:45]


def current_viewer() -> Viewer:
    """The logged-in viewer of this request (anonymous outside a request or before login)."""
    if has_request_context() and getattr(g, "pingan_viewer", None) is not None:
        return g.pingan_viewer
    auditor = None
    if has_request_context():
        from flask import current_app

        sec = current_app.extensions.get(EXTENSION)
        auditor = sec.auditor if sec else None
    return Viewer.anonymous(client_ip() if has_request_context() else "", auditor)


def csrf_token() -> str:
    """The CSRF token to embed in any state-changing form the console renders (field `csrf_token`)."""
    state = getattr(g, "pingan_session", None)
    return state.csrf_token if state else ""


def same_origin() -> bool | None:
    """True/False when the browser said where the request came from; None when it did not."""
    here = urlsplit(request.host_url)
    for header in ("Origin", "Referer"):
        value = request.headers.get(header)
        if value:
            there = urlsplit(value)
            return (there.scheme, there.netloc) == (here.scheme, here.netloc)
    return None


def audit_refusal(sec: Security, action: str, detail: dict, actor: str = "(anonymous)") -> None:
    try:
        sec.auditor.record(actor, action, object=f"{request.method} {request.path}"[:200], result=REFUSED,
                           detail=detail, ip=client_ip())
    except Exception:  # never let the audit sink turn a refusal into a 500 with a traceback
        log.exception("audit write failed")


def set_dash_csrf(resp: Response, token: str, settings: Settings) -> None:
    # Readable by the page's own script (dash-renderer sends it back as X-CSRFToken); SameSite=Strict.
    resp.set_cookie(DASH_CSRF_COOKIE, token, httponly=False, samesite="Strict", secure=settings.secure_cookie,
                    path="/")


def set_session_cookie(resp: Response, token: str, settings: Settings) -> None:
    resp.set_cookie(settings.cookie_name, token, httponly=True, samesite="Strict", secure=settings.secure_cookie,
                    path="/")
