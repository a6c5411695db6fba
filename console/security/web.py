"""Flask integration: login pages, one `before_request` gate for every route, cookies, CSRF, headers.

    from console.security.web import install, current_viewer
    security = install(app.server, session_factory, Settings(secure_cookie=False))
    security.protect_path("/layers/special", LAYER_SPECIAL)        # optional route → permission
    security.protect_callback("special-table", LAYER_SPECIAL)      # optional Dash output id → permission

Every request except the login pages passes the gate: no session → 302 to /login (page navigations)
or 401 JSON (Dash `/_dash-*`, XHR, API); a session in a pending stage (TOTP, forced password change,
TOTP enrolment) reaches only that stage's page. State-changing requests need a same-origin
Origin/Referer and the session's CSRF token — in the form field ``csrf_token`` or the header
``X-CSRFToken`` (Dash's renderer sends that header from the ``_csrf_token`` cookie set here).
API routes (``settings.api_prefixes``) also accept ``X-API-Key``; the key acts as its owner account.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, has_request_context, jsonify, make_response, redirect, request
from sqlalchemy import select

from console.store.security_models import Account, ApiKey

from . import accounts, activity
from .accounts import STAGE_ACTIVE, STAGE_CHANGE, STAGE_ENROLL, STAGE_TOTP
from .audit import Auditor
from .config import Settings
from .guard import DENIED_MESSAGE, REFUSED, AccessDenied, Viewer, require, set_default_auditor
from .hardening import (
    RateLimiter, RedactingFilter, api_key_prefix, escape_html, install_log_redaction, safe_next_url, verify_api_key,
)

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
    "disabled": "账户暂不可用。", "csrf": "页面已过期，请重新操作。",
}
NOT_LOGGED_IN = "未登录或会话已过期，请重新登录。"


def _csp(settings: Settings) -> str:
    extra = " ".join(settings.tile_sources)
    return ("default-src 'self'; "
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'; "  # Dash renderer and Plotly need these
            "style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob: {extra}".rstrip() + "; "
            "font-src 'self' data:; "
            f"connect-src 'self' {extra}".rstrip() + "; "
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


# -- HTML --------------------------------------------------------------------------------------
_STYLE = """
body{margin:0;font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;background:#0b1a2e;color:#e6edf5}
.box{max-width:380px;margin:12vh auto;padding:32px 36px;background:#12263f;border:1px solid #24466e;border-radius:8px}
h1{font-size:22px;margin:0 0 6px;text-align:center;letter-spacing:2px}
.sub{font-size:13px;color:#8fa8c4;text-align:center;margin-bottom:22px}
label{display:block;font-size:14px;margin:14px 0 6px;color:#b9cbe0}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border-radius:4px;
border:1px solid #2e5682;background:#0b1a2e;color:#fff}
button{margin-top:22px;width:100%;padding:11px;font-size:16px;border:0;border-radius:4px;background:#1f6fd1;color:#fff;cursor:pointer}
.msg{background:#3b1f24;border:1px solid #7a3640;color:#ffd5da;padding:9px 12px;border-radius:4px;font-size:14px;margin-top:8px}
.info{background:#173a2a;border-color:#2f7552;color:#d4f5e3}
.note{font-size:12px;color:#8fa8c4;margin-top:18px;line-height:1.6}
code{word-break:break-all;background:#0b1a2e;padding:2px 4px}
"""


def _page(title: str, body: str, message: str = "", info: bool = False) -> str:
    msg = f'<div class="msg{" info" if info else ""}">{escape_html(message)}</div>' if message else ""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape_html(title)} · 平安一张图</title><style>{_STYLE}</style></head>'
            f'<body><div class="box"><h1>平安一张图</h1><div class="sub">安康市综治中心 · {escape_html(title)}</div>'
            f'{msg}{body}</div></body></html>')


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape_html(name)}" value="{escape_html(value)}">'


def _html(text: str, status: int = 200) -> Response:
    resp = make_response(text, status)
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    return resp


# -- install -----------------------------------------------------------------------------------
def install(server: Flask, session_factory, settings: Settings | None = None) -> Security:
    settings = settings or Settings()
    auditor = Auditor(session_factory, settings.clock)
    sec = Security(server, session_factory, settings, auditor,
                   RateLimiter(settings.login_rate_burst, settings.login_rate_per_minute),
                   RateLimiter(settings.api_rate_burst, settings.api_rate_per_minute))
    server.extensions[EXTENSION] = sec
    set_default_auditor(auditor)
    # No identity numbers, phones, passwords or tokens in logs (access log URLs included).
    install_log_redaction()
    for name in ("werkzeug", "console", "layers", "dash", "flask.app", server.logger.name):
        lg = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in lg.filters):
            lg.addFilter(RedactingFilter())
    server.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    server.config["SESSION_COOKIE_HTTPONLY"] = True
    server.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    server.config["SESSION_COOKIE_SECURE"] = settings.secure_cookie
    if not server.secret_key:
        server.secret_key = settings.secret_key

    def wants_html() -> bool:
        return (request.method == "GET" and not request.path.startswith("/_dash-")
                and "text/html" in request.headers.get("Accept", ""))

    def unauthenticated(reason: str = ""):
        if wants_html():
            target = request.full_path if request.query_string else request.path
            q = f"?next={quote(target)}" + (f"&reason={reason}" if reason in REASONS else "")
            resp = redirect("/login" + q, 302)
        else:
            resp = make_response(jsonify(error=NOT_LOGGED_IN, login="/login"), 401)
        if reason:
            resp.delete_cookie(settings.cookie_name, path="/")
        return resp

    def forbidden(message: str = DENIED_MESSAGE):
        if wants_html():
            return _html(_page("拒绝访问", '<p><a href="/" style="color:#8fc3ff">返回首页</a></p>', message), 403)
        return make_response(jsonify(error=message), 403)

    def same_origin() -> bool | None:
        """True/False when the browser said where the request came from; None when it did not."""
        here = urlsplit(request.host_url)
        for header in ("Origin", "Referer"):
            value = request.headers.get(header)
            if value:
                there = urlsplit(value)
                return (there.scheme, there.netloc) == (here.scheme, here.netloc)
        return None

    def audit_refusal(action: str, detail: dict, actor: str = "(anonymous)") -> None:
        try:
            auditor.record(actor, action, object=f"{request.method} {request.path}"[:200], result=REFUSED,
                           detail=detail, ip=client_ip())
        except Exception:  # never let the audit sink turn a refusal into a 500 with a traceback
            log.exception("audit write failed")

    def api_viewer(key: str):
        prefix = api_key_prefix(key)
        if prefix is None:
            return None
        with session_factory() as s, s.begin():
            row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
            now = settings.clock()
            if (row is None or row.revoked_at is not None or (row.expires_at and row.expires_at < now)
                    or not verify_api_key(key, row.key_hash)):
                return None
            account = s.get(Account, row.account_id)
            if account is None or not account.enabled:
                return None
            row.last_used_at = now
            viewer = accounts.viewer_for(account, client_ip(), auditor)
            return Viewer(f"api:{row.name}", viewer.display_name, viewer.roles, viewer.permissions, viewer.scope,
                          account.id, client_ip(), auditor), prefix

    @server.before_request
    def gate():
        g.pingan_viewer = None
        g.pingan_session = None
        path = request.path
        if path in LOGIN_PATHS or path in settings.public_paths:
            return None
        # Machine access by API key (no cookies, so no CSRF); browsers fall through to the session.
        if any(path.startswith(p) for p in settings.api_prefixes):
            key = request.headers.get("X-API-Key") or request.headers.get("Authorization", "").removeprefix("Bearer ")
            if key:
                found = api_viewer(key.strip())
                if found is None:
                    audit_refusal("api.auth", {"reason": "bad_key"})
                    return make_response(jsonify(error="接口密钥无效"), 401)
                viewer, prefix = found
                if not sec.api_limiter.allow(prefix):
                    audit_refusal("api.rate_limited", {"key": prefix}, viewer.username)
                    return make_response(jsonify(error="请求过于频繁"), 429)
                g.pingan_viewer = viewer
                return check_permissions(viewer)
        background = activity.is_background(
            path, request.headers,
            request.get_json(silent=True) if path == "/_dash-update-component" else None)
        state, reason = accounts.load_session(session_factory, settings, request.cookies.get(settings.cookie_name),
                                              client_ip(), touch=not background)
        if state is None:
            if reason == "unknown":
                audit_refusal("session.invalid", {"reason": "unknown_token"})
            return unauthenticated(reason if reason not in ("missing", "unknown") else "")
        g.pingan_session = state
        with session_factory() as s:
            account = s.get(Account, state.account_id)
            viewer = accounts.viewer_for(account, client_ip(), auditor)
        if request.method in STATE_CHANGING:
            origin = same_origin()
            token = (request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
                     or (request.form.get("csrf_token", "") if request.mimetype in (
                         "application/x-www-form-urlencoded", "multipart/form-data") else ""))
            if origin is False or (origin is None and path.startswith("/_dash-")) \
                    or not token or not secrets.compare_digest(token, state.csrf_token):
                audit_refusal("csrf.refused", {"origin": origin, "token": bool(token)}, viewer.username)
                return forbidden("请求来源校验失败（CSRF），请刷新页面后重试。")
        if state.stage != STAGE_ACTIVE:
            allowed = STAGE_PATHS[state.stage]
            if path in (allowed, "/logout"):
                return None
            if wants_html():
                return redirect(allowed, 302)
            return make_response(jsonify(error="请先完成登录步骤", next=allowed), 401)
        g.pingan_viewer = viewer
        return check_permissions(viewer)

    def check_permissions(viewer: Viewer):
        path = request.path
        try:
            for prefix, permission in sec.path_permissions:
                if path.startswith(prefix):
                    require(viewer, permission, f"{request.method} {path}"[:200], log_grant=False)
                    break
            if path == "/_dash-update-component" and sec.callback_permissions:
                for component in callback_output_ids(request.get_json(silent=True) or {}):
                    permission = sec.callback_permissions.get(component)
                    if permission:
                        require(viewer, permission, f"callback:{component}", log_grant=False)
        except AccessDenied as exc:
            return forbidden(str(exc))
        return None

    @server.errorhandler(AccessDenied)
    def on_denied(exc):  # raised (and audited) inside a view or Dash callback
        return forbidden(str(exc))

    @server.errorhandler(413)
    def on_too_large(_exc):
        audit_refusal("request.too_large", {"length": request.content_length})
        return make_response(jsonify(error="请求过大"), 413)

    @server.after_request
    def headers(resp: Response):
        h = resp.headers
        h.setdefault("Content-Security-Policy", _csp(settings))
        for name, value in static_headers(settings)[1:]:
            h[name] = value
        if resp.mimetype in ("text/html", "application/json") and not request.path.startswith("/_dash-component-suites"):
            h["Cache-Control"] = "no-store"
        state = getattr(g, "pingan_session", None)
        if state is not None and state.stage == STAGE_ACTIVE and request.cookies.get(DASH_CSRF_COOKIE) != state.csrf_token:
            set_dash_csrf(resp, state.csrf_token)
        return resp

    def set_dash_csrf(resp, token: str) -> None:
        # Readable by the page's own script (dash-renderer sends it back as X-CSRFToken); SameSite=Strict.
        resp.set_cookie(DASH_CSRF_COOKIE, token, httponly=False, samesite="Strict", secure=settings.secure_cookie,
                        path="/")

    # -- pages ---------------------------------------------------------------------------------
    def set_session_cookie(resp, token: str) -> None:
        resp.set_cookie(settings.cookie_name, token, httponly=True, samesite="Strict", secure=settings.secure_cookie,
                        path="/")

    def login_form(message: str = "", info: bool = False, username: str = "", next_url: str = "/"):
        pre = secrets.token_urlsafe(24)
        body = (f'<form method="post" action="/login" autocomplete="off">{_hidden("csrf_token", pre)}'
                f'{_hidden("next", next_url)}'
                f'<label for="u">用户名</label><input type="text" id="u" name="username" value="{escape_html(username)}" '
                f'maxlength="64" autofocus required>'
                f'<label for="p">密码</label><input type="password" id="p" name="password" maxlength="128" required>'
                f'<button type="submit">登录</button></form>'
                f'<div class="note">内部系统，仅限授权人员使用；所有操作均被记录审计。</div>')
        resp = _html(_page("登录", body, message, info), 200 if not message or info else 401)
        resp.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="Strict", secure=settings.secure_cookie,
                        path="/login")
        return resp

    @server.route("/login", methods=["GET", "POST"])
    def login():
        next_url = safe_next_url(request.values.get("next"))
        if request.method == "GET":
            reason = request.args.get("reason", "")
            return login_form(REASONS.get(reason, ""), info=reason in REASONS, next_url=next_url)
        pre, sent = request.cookies.get(PRE_COOKIE, ""), request.form.get("csrf_token", "")
        if same_origin() is False or not pre or not sent or not secrets.compare_digest(pre, sent):
            audit_refusal("csrf.refused", {"form": "login"})
            return login_form(REASONS["csrf"], next_url=next_url)
        username = request.form.get("username", "")
        result = accounts.authenticate(session_factory, settings, username, request.form.get("password", ""),
                                       client_ip(), sec.login_limiter)
        if not result.ok:
            resp = login_form(result.message, username=username[:64], next_url=next_url)
            resp.status_code = 429 if result.message == accounts.RATE_LIMITED else 401
            return resp
        token, csrf = accounts.open_session(session_factory, settings, result.account_id, result.stage, client_ip(),
                                            request.headers.get("User-Agent", ""))
        target = next_url if result.stage == STAGE_ACTIVE else f"{STAGE_PATHS[result.stage]}?next={quote(next_url)}"
        resp = redirect(target, 303)
        set_session_cookie(resp, token)
        if result.stage == STAGE_ACTIVE:
            set_dash_csrf(resp, csrf)
        resp.delete_cookie(PRE_COOKIE, path="/login")
        return resp

    def advance(result, next_url: str):
        state = g.pingan_session
        csrf = accounts.set_stage(session_factory, state.session_id, result.stage)
        g.pingan_session = None  # the old token must not be re-set by after_request
        if result.stage == STAGE_ACTIVE:
            resp = redirect(next_url, 303)
            set_dash_csrf(resp, csrf)
            return resp
        return redirect(f"{STAGE_PATHS[result.stage]}?next={quote(next_url)}", 303)

    @server.route("/login/totp", methods=["GET", "POST"])
    def login_totp():
        state, next_url = g.pingan_session, safe_next_url(request.values.get("next"))
        message = ""
        if request.method == "POST":
            result = accounts.check_totp(session_factory, settings, state.account_id, request.form.get("code", ""),
                                         client_ip())
            if result.ok:
                return advance(result, next_url)
            if result.message == accounts.LOGIN_FAILED:  # locked meanwhile: end the half-open session
                accounts.end_session(session_factory, settings, state.token_hash, "locked", client_ip())
                return redirect("/login", 303)
            message = result.message
        body = (f'<form method="post">{_hidden("csrf_token", state.csrf_token)}{_hidden("next", next_url)}'
                f'<label for="c">动态验证码（6位）</label><input type="text" id="c" name="code" inputmode="numeric" '
                f'maxlength="6" autocomplete="one-time-code" autofocus required><button type="submit">验证</button></form>'
                f'{_logout_link(state.csrf_token)}')
        return _html(_page("二次验证", body, message), 401 if message else 200)

    @server.route("/totp/setup", methods=["GET", "POST"])
    def totp_setup():
        state, next_url = g.pingan_session, safe_next_url(request.values.get("next"))
        message = ""
        if request.method == "POST":
            result = accounts.check_totp(session_factory, settings, state.account_id, request.form.get("code", ""),
                                         client_ip(), enrolling=True)
            if result.ok:
                return advance(result, next_url)
            message = result.message
        secret, uri = accounts.begin_totp_enrollment(session_factory, state.account_id)
        body = ('<div class="note">管理员账户必须绑定动态验证码。请在手机验证器（如“身份验证器”类应用）中手动添加以下密钥，'
                f'类型为基于时间（TOTP，30秒，6位）：</div><p><code>{escape_html(secret)}</code></p>'
                f'<div class="note">或导入链接：<code>{escape_html(uri)}</code></div>'
                f'<form method="post">{_hidden("csrf_token", state.csrf_token)}{_hidden("next", next_url)}'
                f'<label for="c">输入验证器显示的6位数字以确认</label><input type="text" id="c" name="code" '
                f'inputmode="numeric" maxlength="6" autocomplete="one-time-code" required>'
                f'<button type="submit">绑定</button></form>{_logout_link(state.csrf_token)}')
        return _html(_page("绑定动态验证码", body, message), 400 if message else 200)

    @server.route("/password", methods=["GET", "POST"])
    def password():
        state, next_url = g.pingan_session, safe_next_url(request.values.get("next"))
        problems: list[str] = []
        if request.method == "POST":
            problems = accounts.change_password(session_factory, settings, state.account_id,
                                                request.form.get("old", ""), request.form.get("new", ""),
                                                request.form.get("confirm", ""), client_ip(), state.token_hash)
            if not problems:
                with session_factory() as s:
                    account = s.get(Account, state.account_id)
                    stage = accounts.next_stage(account, accounts.effective_settings(s, settings), settings.clock())
                return advance(accounts.LoginResult(True, "", state.account_id, stage), next_url)
        forced = state.stage == STAGE_CHANGE
        note = ("首次登录或密码已到期，须先修改密码。" if forced else "") + \
            f"新密码至少 {settings.password_min_length} 位，包含大写字母、小写字母、数字、符号中的至少 3 类，且不含用户名。"
        body = (f'<div class="note">{escape_html(note)}</div>'
                f'<form method="post">{_hidden("csrf_token", state.csrf_token)}{_hidden("next", next_url)}'
                '<label for="o">原密码</label><input type="password" id="o" name="old" maxlength="128" required>'
                '<label for="n">新密码</label><input type="password" id="n" name="new" maxlength="128" required>'
                '<label for="c">确认新密码</label><input type="password" id="c" name="confirm" maxlength="128" required>'
                f'<button type="submit">修改密码</button></form>{_logout_link(state.csrf_token)}')
        return _html(_page("修改密码", body, "；".join(problems)), 400 if problems else 200)

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        state = g.pingan_session
        if request.method == "GET":
            body = (f'<form method="post">{_hidden("csrf_token", state.csrf_token)}'
                    '<button type="submit">确认退出</button></form>')
            return _html(_page("退出登录", body))
        accounts.end_session(session_factory, settings, state.token_hash, "logout", client_ip())
        g.pingan_session = None
        resp = redirect("/login?reason=logout", 303)
        resp.delete_cookie(settings.cookie_name, path="/")
        resp.delete_cookie(DASH_CSRF_COOKIE, path="/")
        return resp

    return sec


def _logout_link(csrf: str) -> str:
    return (f'<form method="post" action="/logout">{_hidden("csrf_token", csrf)}'
            '<button type="submit" style="background:#33475f">退出</button></form>')


def callback_output_ids(body: dict) -> set[str]:
    """Component ids a Dash `/_dash-update-component` request will update (pattern ids → their `type`)."""
    ids: set[str] = set()
    outputs = body.get("outputs")
    items = outputs if isinstance(outputs, list) else [outputs] if outputs else []
    for item in items:
        for entry in item if isinstance(item, list) else [item]:
            if isinstance(entry, dict):
                cid = entry.get("id")
                if isinstance(cid, dict):
                    ids.add(str(cid.get("type", json.dumps(cid, sort_keys=True))))
                elif cid is not None:
                    ids.add(str(cid))
    if not ids and isinstance(body.get("output"), str):  # "a.children" or "..a.children...b.data.."
        for part in body["output"].strip(".").split("..."):
            if part:
                ids.add(part.rsplit(".", 1)[0])
    return ids


__all__ = ["Security", "callback_output_ids", "client_ip", "csrf_token", "current_viewer", "install", "security"]
