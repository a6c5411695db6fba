"""Login, lockout, TOTP, password change and session lifecycle — pure functions over the store.

No Flask here (`web.py` calls these). Every outcome is audited. Failure messages never reveal whether
the user exists, the password was wrong, or the account is locked or disabled.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import bindparam, select, update

from console.store.security_models import Account, AuthSession, SecuritySetting

from . import audit, passwords
from .config import Settings
from .guard import GRANTED, REFUSED, Viewer
from .hardening import RateLimiter
from .roles import is_source_account, is_wall_account, requires_totp

LOGIN_FAILED = "用户名或密码错误，或账户暂不可用。多次失败将被锁定，请稍后再试或联系系统管理员。"
RATE_LIMITED = "尝试过于频繁，请稍后再试。"
TOTP_FAILED = "动态验证码错误或已使用，请重新输入。"

# Session stages, in the order a login walks through them.
STAGE_TOTP = "totp"
STAGE_CHANGE = "change_password"
STAGE_ENROLL = "totp_enroll"
STAGE_ACTIVE = "active"


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    message: str = ""
    account_id: int | None = None
    stage: str | None = None


def effective_settings(session, base: Settings) -> Settings:
    values = {s.key: s.value for s in session.scalars(select(SecuritySetting))}
    return base.with_overrides(values)


def roles_of(account: Account) -> frozenset[str]:
    return frozenset(r.role for r in account.roles)


def viewer_for(account: Account, ip: str = "", auditor=None) -> Viewer:
    return Identity.of(account).viewer(ip, auditor)


def password_expired(account: Account, settings: Settings, now: datetime) -> bool:
    return now - account.password_changed_at > timedelta(days=settings.password_max_age_days)


def next_stage(account: Account, settings: Settings, now: datetime) -> str:
    """Where a login goes once password (and TOTP, if enrolled) are verified."""
    if account.must_change_password or password_expired(account, settings, now):
        return STAGE_CHANGE
    if requires_totp(roles_of(account)) and not account.totp_enabled:
        return STAGE_ENROLL
    return STAGE_ACTIVE


def _audit(s, actor, action, result, ip, obj="", detail=None, roles=(), now=None):
    audit.append(s, actor, action, object=obj, result=result, detail=detail, ip=ip, roles=roles, at=now)


def _fail(s, account: Account | None, settings: Settings, now: datetime, ip: str, reason: str,
          username: str) -> None:
    if account is not None:
        account.failed_logins = (account.failed_logins or 0) + 1
        if account.failed_logins >= settings.lock_threshold:
            account.locked_until = now + timedelta(minutes=settings.lock_minutes)
            # a locked account stops at once: its open sessions end too
            s.execute(update(AuthSession).where(AuthSession.account_id == account.id, AuthSession.ended_at.is_(None))
                      .values(ended_at=now, end_reason="locked"))
            _audit(s, username, "account.lock", REFUSED, ip, f"account:{username}",
                   {"failures": account.failed_logins, "until": account.locked_until.isoformat()}, now=now)
    _audit(s, username, "login.failure", REFUSED, ip, f"account:{username}", {"reason": reason}, now=now)


def authenticate(session_factory, settings: Settings, username: str, password: str, ip: str,
                 limiter: RateLimiter | None = None) -> LoginResult:
    """Check a password. On success the caller opens a session at `result.stage`."""
    now = settings.clock()
    username = (username or "").strip()[:64]
    password = password or ""
    with session_factory() as s, s.begin():
        if limiter is not None and not limiter.allow(ip or "?"):
            _audit(s, username, "login.rate_limited", REFUSED, ip, f"account:{username}", now=now)
            return LoginResult(False, RATE_LIMITED)
        settings = effective_settings(s, settings)
        account = s.scalar(select(Account).where(Account.username == username)) if username else None
        if account is None:
            passwords.burn_time(password)
            _fail(s, None, settings, now, ip, "unknown_user", username)
            return LoginResult(False, LOGIN_FAILED)
        if account.locked_until is not None and now < account.locked_until:
            passwords.burn_time(password)
            _audit(s, username, "login.failure", REFUSED, ip, f"account:{username}", {"reason": "locked"}, now=now)
            return LoginResult(False, LOGIN_FAILED)
        if account.locked_until is not None:  # the lock has run out
            account.locked_until, account.failed_logins = None, 0
        if not account.enabled or is_source_account(roles_of(account)):
            passwords.burn_time(password)
            reason = "disabled" if not account.enabled else "source_account"  # intake sources: API keys only
            _audit(s, username, "login.failure", REFUSED, ip, f"account:{username}", {"reason": reason}, now=now)
            return LoginResult(False, LOGIN_FAILED)
        if not passwords.verify_password(account.password_hash, password):
            _fail(s, account, settings, now, ip, "password", username)
            return LoginResult(False, LOGIN_FAILED)
        if passwords.needs_rehash(account.password_hash):
            account.password_hash = passwords.hash_password(password)
        if account.totp_enabled:
            _audit(s, username, "login.password_ok", GRANTED, ip, f"account:{username}", now=now)
            return LoginResult(True, "", account.id, STAGE_TOTP)
        stage = next_stage(account, settings, now)
        _complete(s, account, now, ip)
        _audit(s, username, "login.success", GRANTED, ip, f"account:{username}", {"next": stage},
               roles_of(account), now)
        return LoginResult(True, "", account.id, stage)


def _complete(s, account: Account, now: datetime, ip: str) -> None:
    account.failed_logins = 0
    account.last_login_at, account.last_login_ip = now, ip


def _totp_step(account: Account, code: str, now: datetime) -> int | None:
    if not account.totp_secret or not code or not code.strip().isdigit():
        return None
    totp = pyotp.TOTP(account.totp_secret)
    code = code.strip()
    for offset in (0, -1, 1):
        at = now + timedelta(seconds=30 * offset)
        if secrets.compare_digest(totp.at(at), code):
            return totp.timecode(at)
    return None


def check_totp(session_factory, settings: Settings, account_id: int, code: str, ip: str,
               enrolling: bool = False) -> LoginResult:
    """Verify a TOTP code (login second step, or enrolment confirmation); refuses a replayed code."""
    now = settings.clock()
    with session_factory() as s, s.begin():
        settings = effective_settings(s, settings)
        account = s.get(Account, account_id)
        if account is None or not account.enabled or (account.locked_until and now < account.locked_until):
            return LoginResult(False, LOGIN_FAILED)
        step = _totp_step(account, code, now)
        if step is None or (account.totp_last_step is not None and step <= account.totp_last_step):
            _fail(s, account, settings, now, ip, "totp" if step is None else "totp_replay", account.username)
            if account.locked_until:
                return LoginResult(False, LOGIN_FAILED)
            return LoginResult(False, TOTP_FAILED)
        account.totp_last_step = step
        if enrolling:
            account.totp_enabled = True
            _audit(s, account.username, "totp.enroll", GRANTED, ip, f"account:{account.username}",
                   roles=roles_of(account), now=now)
            return LoginResult(True, "", account.id, next_stage(account, settings, now))
        stage = next_stage(account, settings, now)
        _complete(s, account, now, ip)
        _audit(s, account.username, "login.success", GRANTED, ip, f"account:{account.username}",
               {"next": stage, "totp": True}, roles_of(account), now)
        return LoginResult(True, "", account.id, stage)


def begin_totp_enrollment(session_factory, account_id: int) -> tuple[str, str]:
    """(secret, otpauth URI) for a new authenticator; kept pending until `check_totp(enrolling=True)`."""
    with session_factory() as s, s.begin():
        account = s.get(Account, account_id)
        if account.totp_enabled:
            raise ValueError("已绑定动态验证码")
        if not account.totp_secret:
            account.totp_secret = pyotp.random_base32()
        secret = account.totp_secret
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name="PingAn")
        return secret, uri


def change_password(session_factory, settings: Settings, account_id: int, old: str, new: str, confirm: str,
                    ip: str, keep_session_hash: str | None = None) -> list[str]:
    """Errors (empty: changed). Other sessions of the account are ended."""
    now = settings.clock()
    with session_factory() as s, s.begin():
        settings = effective_settings(s, settings)
        account = s.get(Account, account_id)
        problems = []
        if not passwords.verify_password(account.password_hash, old or ""):
            problems.append("原密码不正确")
        if new != confirm:
            problems.append("两次输入的新密码不一致")
        problems += passwords.check_password(new or "", account.username, min_length=settings.password_min_length,
                                             min_classes=settings.password_min_classes)
        if not problems and passwords.verify_password(account.password_hash, new):
            problems.append("新密码不能与原密码相同")
        if problems:
            _audit(s, account.username, "password.change", REFUSED, ip, f"account:{account.username}",
                   {"reasons": problems}, now=now)
            if "原密码不正确" in problems:
                _fail(s, account, settings, now, ip, "password_change_old", account.username)
            return problems
        account.password_hash = passwords.hash_password(new)
        account.password_changed_at = now
        account.must_change_password = False
        end = update(AuthSession).where(AuthSession.account_id == account.id, AuthSession.ended_at.is_(None))
        if keep_session_hash:
            end = end.where(AuthSession.token_hash != keep_session_hash)
        s.execute(end.values(ended_at=now, end_reason="password"))
        _audit(s, account.username, "password.change", GRANTED, ip, f"account:{account.username}",
               roles=roles_of(account), now=now)
        return []


# -- server-side sessions ----------------------------------------------------------------------
def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(session_factory, settings: Settings, account_id: int, stage: str, ip: str,
                 user_agent: str = "") -> tuple[str, str]:
    """(cookie token, csrf token). Only the token's SHA-256 is stored."""
    now = settings.clock()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with session_factory() as s, s.begin():
        # At most `max_sessions_per_account` open sessions: a new login ends the oldest ones (audited).
        keep = max(1, settings.max_sessions_per_account) - 1
        open_ids = s.scalars(select(AuthSession.id).where(AuthSession.account_id == account_id,
                                                          AuthSession.ended_at.is_(None))
                             .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())).all()
        if len(open_ids) > keep:
            ended = open_ids[keep:]
            s.execute(update(AuthSession).where(AuthSession.id.in_(ended)).values(ended_at=now, end_reason="limit"))
            account = s.get(Account, account_id)
            _audit(s, account.username if account else "?", "session.end", GRANTED, ip, f"account:{account_id}",
                   {"reason": "limit", "sessions": len(ended)}, now=now)
        s.add(AuthSession(token_hash=token_hash(token), account_id=account_id, stage=stage, csrf_token=csrf,
                          created_at=now, last_seen_at=now, ip=ip[:45], user_agent=(user_agent or "")[:200]))
    return token, csrf


@dataclass(frozen=True)
class Identity:
    """Who a session belongs to, as the gate builds the viewer from it (no ORM object: it may be remembered)."""
    account_id: int
    username: str
    display_name: str
    roles: frozenset[str]
    scopes: tuple[str, ...]

    @classmethod
    def of(cls, account: Account) -> Identity:
        return cls(account.id, account.username, account.display_name or "", roles_of(account),
                   tuple(s.area_code for s in account.scopes))

    def viewer(self, ip: str = "", auditor=None) -> Viewer:
        return Viewer.build(self.username, self.roles, self.scopes, display_name=self.display_name,
                            account_id=self.account_id, ip=ip, auditor=auditor)


@dataclass(frozen=True)
class SessionState:
    session_id: int
    account_id: int
    stage: str
    csrf_token: str
    token_hash: str
    # who the session belongs to, as read for this check (or remembered from an earlier one): the gate builds the
    # viewer from it instead of reading the account again in a second database session
    identity: Identity | None = field(default=None, compare=False, repr=False)


# The gate's per-process memory of checked sessions (docs/security.md, 会话): the account's name, roles and scopes
# and the effective settings, for IDENTITY_SECONDS. Each request still reads its own `auth_session` row (one small
# query), so a session ended anywhere (logout, lock, disable, new rights, new password: each of them ends the
# account's sessions) is refused at once in every process; idle, expiry, touching and refusals take the full path.
IDENTITY_SECONDS = 30.0
IDENTITY_LIMIT = 5000  # remembered sessions per process before the expired ones are dropped
_identities: dict[str, tuple[float, int, Identity, Settings, bool]] = {}
_identities_lock = threading.Lock()


_t = AuthSession.__table__.c
_SESSION_ROW = select(_t.id, _t.ended_at, _t.stage, _t.csrf_token, _t.last_seen_at, _t.created_at).where(
    _t.token_hash == bindparam("th"))  # a Core statement: the ORM's overhead is most of such a small read


def forget_identities() -> None:
    """Drop the remembered identities and settings (a security setting changed in this process)."""
    with _identities_lock:
        _identities.clear()


def _remembered(session_factory, th: str, now: datetime, touch: bool, touch_every_seconds: int) -> SessionState | None:
    """The session from memory plus a fresh read of its row; None sends the caller down the full path."""
    entry = _identities.get(th)
    if entry is None or time.monotonic() - entry[0] > IDENTITY_SECONDS:
        return None
    _, session_id, identity, effective, wall = entry
    with session_factory() as s:
        row = s.connection().execute(_SESSION_ROW, {"th": th}).first()
    if row is None or row.id != session_id or row.ended_at is not None or now < row.last_seen_at:
        return None
    idle = now - row.last_seen_at > timedelta(minutes=effective.idle_minutes) and not wall
    if idle or now - row.created_at > timedelta(hours=effective.session_max_hours) \
            or (touch and (now - row.last_seen_at).total_seconds() >= touch_every_seconds):
        return None
    return SessionState(row.id, identity.account_id, row.stage, row.csrf_token, th, identity)


def load_session(session_factory, settings: Settings, token: str | None, ip: str,
                 touch_every_seconds: int = 30, *, touch: bool = True,
                 remember: bool = False) -> tuple[SessionState | None, str]:
    """(state, reason). reason: '' ok, 'missing', 'unknown', 'ended', 'idle', 'expired', 'disabled'.

    `touch=False` (background polling, `activity.is_background`): checked like any request, but the
    session's last-seen time is not moved, so polling alone never keeps it alive."""
    if not token or len(token) > 100:
        return None, "missing"
    now = settings.clock()
    th = token_hash(token)
    if remember:
        state = _remembered(session_factory, th, now, touch, touch_every_seconds)
        if state is not None:
            return state, ""
    with session_factory() as s, s.begin():
        row = s.scalar(select(AuthSession).where(AuthSession.token_hash == th))
        if row is None:
            return None, "unknown"
        if row.ended_at is not None:
            return None, "ended"
        settings = effective_settings(s, settings)
        account = s.get(Account, row.account_id)
        reason = ""
        if now - row.last_seen_at > timedelta(minutes=settings.idle_minutes) and not (
                account is not None and is_wall_account(roles_of(account))):  # the hall screen never idles out
            reason = "idle"
        elif now - row.created_at > timedelta(hours=settings.session_max_hours):
            reason = "expired"
        elif account is None or not account.enabled:
            reason = "disabled"
        elif account.locked_until is not None and now < account.locked_until:
            reason = "locked"
        if reason:
            row.ended_at, row.end_reason = now, reason
            _audit(s, account.username if account else "?", "session.end", GRANTED, ip, f"session:{row.id}",
                   {"reason": reason}, now=now)
            return None, reason
        if touch and (now - row.last_seen_at).total_seconds() >= touch_every_seconds:
            row.last_seen_at = now
        identity = Identity.of(account)
        state = SessionState(row.id, row.account_id, row.stage, row.csrf_token, th, identity)
        wall = is_wall_account(identity.roles)
    if remember:  # after the commit: a touch is written before the memory is used
        stamp = time.monotonic()
        with _identities_lock:
            if len(_identities) >= IDENTITY_LIMIT:  # bounded: drop what has expired anyway
                for key in [k for k, v in _identities.items() if stamp - v[0] > IDENTITY_SECONDS]:
                    del _identities[key]
            _identities[th] = (stamp, state.session_id, identity, settings, wall)
    return state, ""


def set_stage(session_factory, session_id: int, stage: str, rotate: bool = True) -> str | None:
    """Move a session to its next stage; a fresh CSRF token on each step (old tokens cannot be replayed)."""
    with session_factory() as s, s.begin():
        row = s.get(AuthSession, session_id)
        row.stage = stage
        if rotate:
            row.csrf_token = secrets.token_urlsafe(32)
        return row.csrf_token


def end_session(session_factory, settings: Settings, token_hash_: str, reason: str, ip: str) -> None:
    now = settings.clock()
    with session_factory() as s, s.begin():
        row = s.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash_))
        if row is None or row.ended_at is not None:
            return
        row.ended_at, row.end_reason = now, reason
        account = s.get(Account, row.account_id)
        _audit(s, account.username if account else "?", "logout" if reason == "logout" else "session.end",
               GRANTED, ip, f"session:{row.id}", {"reason": reason}, now=now)
