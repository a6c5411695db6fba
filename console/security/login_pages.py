"""The login flow's pages: password, TOTP (login and enrolment), forced password change, logout.

The security gate (`web.install`) lets anonymous requests reach only /login and each pending stage only its
own page; these views do the work through `accounts` and answer with `html.page` forms carrying the
session's CSRF token (the login form uses a pre-login double-submit cookie instead).
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from flask import Flask, g, redirect, request

from console.store.security_models import Account

from . import accounts
from .accounts import STAGE_ACTIVE, STAGE_CHANGE
from .hardening import escape_html, safe_next_url
from .html import hidden, html_response, logout_button, page
from .gate import (
    DASH_CSRF_COOKIE, PRE_COOKIE, REASONS, STAGE_PATHS, Security, audit_refusal, client_ip, same_origin,
    set_dash_csrf, set_session_cookie,
)


def register(server: Flask, sec: Security) -> None:
    """Add the login-flow routes to `server` (called once by `web.install`)."""
    session_factory, settings = sec.session_factory, sec.settings

    # -- pages ---------------------------------------------------------------------------------
    def login_form(message: str = "", info: bool = False, username: str = "", next_url: str = "/"):
        pre = secrets.token_urlsafe(24)
        body = (f'<form method="post" action="/login" autocomplete="off">{hidden("csrf_token", pre)}'
                f'{hidden("next", next_url)}'
                f'<label for="u">用户名</label><input type="text" id="u" name="username" value="{escape_html(username)}" '
                f'maxlength="64" autofocus required>'
                f'<label for="p">密码</label><input type="password" id="p" name="password" maxlength="128" required>'
                f'<button type="submit">登录</button></form>'
                f'<div class="note">内部系统，仅限授权人员使用；所有操作均被记录审计。</div>')
        resp = html_response(page("登录", body, message, info), 200 if not message or info else 401)
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
            audit_refusal(sec, "csrf.refused", {"form": "login"})
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
        set_session_cookie(resp, token, settings)
        if result.stage == STAGE_ACTIVE:
            set_dash_csrf(resp, csrf, settings)
        resp.delete_cookie(PRE_COOKIE, path="/login")
        return resp

    def advance(result, next_url: str):
        state = g.pingan_session
        csrf = accounts.set_stage(session_factory, state.session_id, result.stage)
        g.pingan_session = None  # the old token must not be re-set by after_request
        if result.stage == STAGE_ACTIVE:
            resp = redirect(next_url, 303)
            set_dash_csrf(resp, csrf, settings)
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
        body = (f'<form method="post">{hidden("csrf_token", state.csrf_token)}{hidden("next", next_url)}'
                f'<label for="c">动态验证码（6位）</label><input type="text" id="c" name="code" inputmode="numeric" '
                f'maxlength="6" autocomplete="one-time-code" autofocus required><button type="submit">验证</button></form>'
                f'{logout_button(state.csrf_token)}')
        return html_response(page("二次验证", body, message), 401 if message else 200)

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
                f'<form method="post">{hidden("csrf_token", state.csrf_token)}{hidden("next", next_url)}'
                f'<label for="c">输入验证器显示的6位数字以确认</label><input type="text" id="c" name="code" '
                f'inputmode="numeric" maxlength="6" autocomplete="one-time-code" required>'
                f'<button type="submit">绑定</button></form>{logout_button(state.csrf_token)}')
        return html_response(page("绑定动态验证码", body, message), 400 if message else 200)

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
                f'<form method="post">{hidden("csrf_token", state.csrf_token)}{hidden("next", next_url)}'
                '<label for="o">原密码</label><input type="password" id="o" name="old" maxlength="128" required>'
                '<label for="n">新密码</label><input type="password" id="n" name="new" maxlength="128" required>'
                '<label for="c">确认新密码</label><input type="password" id="c" name="confirm" maxlength="128" required>'
                f'<button type="submit">修改密码</button></form>{logout_button(state.csrf_token)}')
        return html_response(page("修改密码", body, "；".join(problems)), 400 if problems else 200)

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        state = g.pingan_session
        if request.method == "GET":
            body = (f'<form method="post">{hidden("csrf_token", state.csrf_token)}'
                    '<button type="submit">确认退出</button></form>')
            return html_response(page("退出登录", body))
        accounts.end_session(session_factory, settings, state.token_hash, "logout", client_ip())
        g.pingan_session = None
        resp = redirect("/login?reason=logout", 303)
        resp.delete_cookie(settings.cookie_name, path="/")
        resp.delete_cookie(DASH_CSRF_COOKIE, path="/")
        return resp
