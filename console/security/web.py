"""Flask integration: one `before_request` gate for every route, cookies, CSRF, headers.

    from console.security.web import install, current_viewer
    security = install(app.server, session_factory, Settings(secure_cookie=False))
    security.protect_path("/layers/special", LAYER_SPECIAL)        # optional route → permission
    security.protect_callback("special-table", LAYER_SPECIAL)      # optional Dash output id → permission

Every request except the login pages passes the gate: no session → 302 to /login (page navigations)
or 401 JSON (Dash `/_dash-*`, XHR, API); a session in a pending stage (TOTP, forced password change,
TOTP enrolment) reaches only that stage's page. State-changing requests need a same-origin
Origin/Referer and the session's CSRF token — in the form field ``csrf_token`` or the header
``X-CSRFToken`` (Dash's renderer sends that header from the ``_csrf_token`` cookie set here).
API routes (``settings.api_prefixes``) also accept ``X-API-Key``: only keys of intake-source accounts
(`roles.SOURCE_ROLE`), only on routes the registry opens to keys (`registry.KEY_ROUTES`); a key never acts as a person.

When the console sets `Security.callbacks` (`console/pages/_gate.py`), every route and Dash callback is looked up in
`console.security.registry` before it runs: undeclared ones are refused (fail closed), declared permissions are
checked here, and sensitive reads get a `record.read` audit row.
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import quote

from flask import Flask, Response, g, jsonify, make_response, redirect, request
from sqlalchemy import select

from console.store.security_models import Account, ApiKey

from . import accounts, activity, throttle
from .accounts import STAGE_ACTIVE
from .audit import Auditor
from .config import Settings
from .guard import DENIED_MESSAGE, AccessDenied, Viewer, require, require_need, set_default_auditor
from .guard import audit as viewer_audit
from .hardening import RateLimiter, RedactingFilter, api_key_prefix, install_log_redaction, verify_api_key
from .html import html_response, page
from .registry import (
    CLIENTSIDE, KEY_ROUTES, LOGGED_IN, PUBLIC, SOURCE_KEY, callback_need, route_need,
)
from .roles import is_source_account

from .gate import _csp
from .gate import (  # noqa: F401 - re-exported: the gate's public names stay importable from here
    DASH_CSRF_COOKIE, EXTENSION, LOGIN_PATHS, NOT_LOGGED_IN, PRE_COOKIE, REASONS, STAGE_PATHS, STATE_CHANGING, Security, audit_refusal, client_ip, csrf_token, current_viewer, same_origin, security, set_dash_csrf, set_session_cookie, static_headers,
)

log = logging.getLogger(__name__)


# -- install -----------------------------------------------------------------------------------
def install(server: Flask, session_factory, settings: Settings | None = None) -> Security:
    settings = settings or Settings()
    auditor = Auditor(session_factory, settings.clock)
    sec = Security(server, session_factory, settings, auditor,
                   RateLimiter(settings.login_rate_burst, settings.login_rate_per_minute),
                   RateLimiter(settings.api_rate_burst, settings.api_rate_per_minute))
    server.extensions[EXTENSION] = sec
    set_default_auditor(auditor)
    throttle.configure({"unmask": settings.unmask_per_minute,
                        "duplicate_check": settings.duplicate_checks_per_minute})
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
            return html_response(page("拒绝访问", '<p><a href="/" style="color:#8fc3ff">返回首页</a></p>', message), 403)
        return make_response(jsonify(error=message), 403)

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
            if (account is None or not account.enabled or (account.locked_until and account.locked_until > now)
                    or not is_source_account(accounts.roles_of(account))):
                return None
            row.last_used_at = now
            viewer = accounts.viewer_for(account, client_ip(), auditor)
            return Viewer(f"api:{row.name}", viewer.display_name, viewer.roles, viewer.permissions, viewer.scope,
                          account.id, client_ip(), auditor), prefix

    @server.before_request
    def gate():
        g.pingan_viewer = None
        g.pingan_session = None
        g.pingan_read = None
        path = request.path
        if path in LOGIN_PATHS or path in settings.public_paths:
            return None
        # Machine access by API key (no cookies, so no CSRF); browsers fall through to the session.
        if any(path.startswith(p) for p in settings.api_prefixes):
            key = request.headers.get("X-API-Key") or request.headers.get("Authorization", "").removeprefix("Bearer ")
            if key:
                found = api_viewer(key.strip())
                if found is None:
                    audit_refusal(sec, "api.auth", {"reason": "bad_key"})
                    return make_response(jsonify(error="接口密钥无效"), 401)
                viewer, prefix = found
                if not sec.api_limiter.allow(prefix):
                    audit_refusal(sec, "api.rate_limited", {"key": prefix}, viewer.username)
                    return make_response(jsonify(error="请求过于频繁"), 429)
                g.pingan_viewer = viewer
                return check_permissions(viewer, by_key=True)
        background = activity.is_background(
            path, request.headers,
            request.get_json(silent=True) if path == "/_dash-update-component" else None)
        state, reason = accounts.load_session(session_factory, settings, request.cookies.get(settings.cookie_name),
                                              client_ip(), touch=not background, remember=True)
        if state is None:
            if reason == "unknown":
                audit_refusal(sec, "session.invalid", {"reason": "unknown_token"})
            return unauthenticated(reason if reason not in ("missing", "unknown") else "")
        g.pingan_session = state
        viewer = state.identity.viewer(client_ip(), auditor)
        if request.method in STATE_CHANGING:
            origin = same_origin()
            token = (request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token")
                     or (request.form.get("csrf_token", "") if request.mimetype in (
                         "application/x-www-form-urlencoded", "multipart/form-data") else ""))
            if origin is False or (origin is None and path.startswith("/_dash-")) \
                    or not token or not secrets.compare_digest(token, state.csrf_token):
                audit_refusal(sec, "csrf.refused", {"origin": origin, "token": bool(token)}, viewer.username)
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

    def check_registry(viewer: Viewer, by_key: bool = False):
        """The registry's need for this route (and Dash callback); None when allowed."""
        rule = request.url_rule.rule if request.url_rule is not None else None
        if rule is None:
            return None  # Flask answers 404
        need = route_need(rule)
        if by_key and rule not in KEY_ROUTES:
            audit_refusal(sec, "access.denied", {"reason": "api_key_route", "rule": rule}, viewer.username)
            return make_response(jsonify(error="接口密钥只能用于数据接入接口"), 403)
        if need is None:
            audit_refusal(sec, "access.undeclared", {"rule": rule}, viewer.username)
            return forbidden("该地址未声明访问权限，已拒绝。")
        if need.kind in (PUBLIC, SOURCE_KEY):
            return None
        require_need(viewer, need, f"route:{rule}")
        if need.sensitive:
            g.pingan_read = f"route:{rule}"
        if request.path == "/_dash-update-component":
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            known, name = sec.callbacks(output) if isinstance(output, str) else (False, None)
            if not known:
                audit_refusal(sec, "callback.unknown", {"output": str(output)[:120]}, viewer.username)
                return make_response(jsonify(error="未知的页面操作"), 400)
            cneed = callback_need(name)
            if cneed is None:
                audit_refusal(sec, "access.undeclared", {"callback": name}, viewer.username)
                return forbidden("该操作未声明访问权限，已拒绝。")
            if cneed.kind == CLIENTSIDE:
                return make_response(jsonify(error="该操作在浏览器端执行"), 400)
            if cneed.kind != LOGGED_IN:
                require_need(viewer, cneed, f"callback:{name}")
            if cneed.sensitive:
                g.pingan_read = f"callback:{name}"
        return None

    def check_permissions(viewer: Viewer, by_key: bool = False):
        path = request.path
        try:
            if sec.callbacks is not None:
                refused = check_registry(viewer, by_key)
                if refused is not None:
                    return refused
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
        audit_refusal(sec, "request.too_large", {"length": request.content_length})
        return make_response(jsonify(error="请求过大"), 413)

    @server.after_request
    def headers(resp: Response):
        read = getattr(g, "pingan_read", None)
        viewer = getattr(g, "pingan_viewer", None)
        if read and viewer is not None and resp.status_code == 200:
            g.pingan_read = None
            try:  # a sensitive read the registry marks: one audit row per answered request
                viewer_audit(viewer, "record.read", read, "granted", {"path": request.path})
            except Exception:
                log.exception("audit write failed")
                return make_response(jsonify(error="审计日志不可用"), 503)
        h = resp.headers
        h.setdefault("Content-Security-Policy", _csp(settings))
        for name, value in static_headers(settings)[1:]:
            if name == "Permissions-Policy" and name in h:  # a route that needs a feature says so (the phone app)
                continue
            h[name] = value
        if resp.mimetype in ("text/html", "application/json") and not request.path.startswith("/_dash-component-suites"):
            h["Cache-Control"] = "no-store"
        state = getattr(g, "pingan_session", None)
        if state is not None and state.stage == STAGE_ACTIVE and request.cookies.get(DASH_CSRF_COOKIE) != state.csrf_token:
            set_dash_csrf(resp, state.csrf_token, settings)
        return resp

    from . import login_pages  # imports this module's helpers

    login_pages.register(server, sec)
    return sec


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
