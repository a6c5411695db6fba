"""三员 operations, each behind one permission and audited (granted and refused alike).

* 系统管理员 (`account:manage`, `config:manage`): create / disable / enable / unlock accounts, reset a
  business account's password, change tunable security settings. Cannot grant roles or scopes,
  cannot read the audit log, cannot reset another administrator's password (that would let it log
  in as them — administrators are reset only at the server console: ``bootstrap --reset``).
* 安全管理员 (`role:assign`): set an account's roles and area scope — never its own.
* 审计管理员 (`audit:read`): `audit.search` / `audit.export` / `audit.verify` (see audit.py).

Issuing API keys is account management, and only for intake-source accounts (`roles.SOURCE_ROLE`, which cannot
log in): a key never acts as a person. A password reset needs two administrators (docs/security.md §2): the
system administrator's `reset_password` gives half of a one-time password and the security administrator's
`approve_password_reset` the other half; neither alone can log in as the owner, who must change it at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select

from console.store.scope import AreaScope, ScopeError
from console.store.security_models import Account, AccountRole, AccountScope, ApiKey, AuthSession, SecuritySetting

from . import accounts, guard, passwords
from .config import validate_setting
from .guard import REFUSED, AccessDenied, Viewer
from .hardening import generate_api_key
from .permissions import ACCOUNT_MANAGE, CONFIG_MANAGE, ROLE_ASSIGN
from .roles import ADMIN_ROLES, RoleError, check_role_set, is_source_account


class AdminError(ValueError):
    """A refused administrative request with a user-facing Chinese message (audited)."""


def _now(viewer: Viewer) -> datetime:
    from .config import utcnow

    return viewer.auditor.clock() if viewer.auditor else utcnow()


def _account(s, username: str) -> Account:
    account = s.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise AdminError("账户不存在")
    return account


def _refuse(viewer: Viewer, action: str, obj: str, message: str) -> AdminError:
    guard.audit(viewer, action, obj, REFUSED, {"reason": message})
    return AdminError(message)


def list_accounts(session, viewer: Viewer) -> list[dict]:
    """For the system and security administrators' pages (no secrets)."""
    if not (viewer.can(ACCOUNT_MANAGE) or viewer.can(ROLE_ASSIGN)):
        guard.require(viewer, ACCOUNT_MANAGE, "accounts")
    return [{"username": a.username, "display_name": a.display_name, "enabled": a.enabled,
             "locked_until": a.locked_until, "roles": sorted(r.role for r in a.roles),
             "scope": sorted(sc.area_code for sc in a.scopes), "totp": a.totp_enabled,
             "last_login_at": a.last_login_at, "must_change_password": a.must_change_password}
            for a in session.scalars(select(Account).order_by(Account.username))]


def create_account(session_factory, viewer: Viewer, username: str, display_name: str = "") -> str:
    """New account without roles or scope (the security administrator grants those). Returns the one-time password."""
    obj = f"account:{username}"
    guard.require(viewer, ACCOUNT_MANAGE, obj, log_grant=False)
    username = (username or "").strip()
    if not (3 <= len(username) <= 64) or not all(c.isalnum() or c in "._-" for c in username):
        raise _refuse(viewer, "account.create", obj, "用户名须为 3–64 位字母、数字或 . _ -")
    otp = passwords.one_time_password()
    now = _now(viewer)
    with session_factory() as s, s.begin():
        if s.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise _refuse(viewer, "account.create", obj, "用户名已存在")
        s.add(Account(username=username, display_name=(display_name or username)[:64],
                      password_hash=passwords.hash_password(otp), password_changed_at=now,
                      must_change_password=True, enabled=True, failed_logins=0, created_at=now,
                      created_by=viewer.username))
        guard.audit(viewer, "account.create", obj, session=s)
    return otp


def set_enabled(session_factory, viewer: Viewer, username: str, enabled: bool) -> None:
    obj = f"account:{username}"
    action = "account.enable" if enabled else "account.disable"
    guard.require(viewer, ACCOUNT_MANAGE, obj, log_grant=False)
    if username == viewer.username:
        raise _refuse(viewer, action, obj, "不能停用或启用自己的账户")
    with session_factory() as s, s.begin():
        account = _account(s, username)
        account.enabled = enabled
        if not enabled:
            s.execute(AuthSession.__table__.update().where(AuthSession.account_id == account.id,
                                                           AuthSession.ended_at.is_(None))
                      .values(ended_at=_now(viewer), end_reason="disabled"))
        guard.audit(viewer, action, obj, session=s)


def unlock(session_factory, viewer: Viewer, username: str) -> None:
    obj = f"account:{username}"
    guard.require(viewer, ACCOUNT_MANAGE, obj, log_grant=False)
    if username == viewer.username:
        raise _refuse(viewer, "account.unlock", obj, "不能解锁自己的账户（须由另一名系统管理员或在服务器上处理）")
    with session_factory() as s, s.begin():
        account = _account(s, username)
        account.locked_until, account.failed_logins = None, 0
        guard.audit(viewer, "account.unlock", obj, session=s)


RESET_KEY = "reset:"  # pending two-administrator resets live in security_setting (unknown keys are not settings)
HALF = 8


def reset_password(session_factory, viewer: Viewer, username: str) -> str:
    """First half of a one-time password for a business account (system administrator). The account's password
    does not change yet; the security administrator's `approve_password_reset` completes it. Administrators:
    server console only (``bootstrap --reset``)."""
    from console.store import crypto

    obj = f"account:{username}"
    guard.require(viewer, ACCOUNT_MANAGE, obj, log_grant=False)
    half = passwords.one_time_password(HALF)
    with session_factory() as s, s.begin():
        account = _account(s, username)
        if {r.role for r in account.roles} & ADMIN_ROLES or account.username == viewer.username:
            raise _refuse(viewer, "account.reset_password", obj,
                          "管理员账户的密码只能在服务器上用 bootstrap --reset 重置")
        key = RESET_KEY + username
        row = s.get(SecuritySetting, key) or SecuritySetting(key=key)
        s.add(row)
        ring = crypto.require_keyring()  # the half is sealed: the database alone does not give it away
        row.value = ring.encrypt(half, aad=key)
        row.updated_at, row.updated_by = _now(viewer), viewer.username
        guard.audit(viewer, "account.reset_password", obj, detail={"step": "requested"}, session=s)
    return half


def approve_password_reset(session_factory, viewer: Viewer, username: str) -> str:
    """Second half (security administrator): the account's password becomes first half + second half, to be
    changed at the first login; the account's sessions end. Returns the second half (shown once)."""
    from console.store import crypto

    obj = f"account:{username}"
    guard.require(viewer, ROLE_ASSIGN, obj, log_grant=False)
    half = passwords.one_time_password(HALF)
    now = _now(viewer)
    with session_factory() as s, s.begin():
        account = _account(s, username)
        key = RESET_KEY + username
        row = s.get(SecuritySetting, key)
        if row is None:
            raise _refuse(viewer, "account.reset_approve", obj, "该账户没有待批准的密码重置")
        if row.updated_by == viewer.username or account.username == viewer.username:
            raise _refuse(viewer, "account.reset_approve", obj, "重置须由另一名管理员批准")
        first = crypto.require_keyring().decrypt(row.value, aad=key)
        account.password_hash = passwords.hash_password(first + half)
        account.password_changed_at, account.must_change_password = now, True
        account.locked_until, account.failed_logins = None, 0
        s.delete(row)
        _end_sessions(s, account.id, now, "password")
        guard.audit(viewer, "account.reset_password", obj, detail={"step": "approved", "requested_by": row.updated_by},
                    session=s)
    return half


def _end_sessions(s, account_id: int, now: datetime, reason: str) -> None:
    s.execute(AuthSession.__table__.update().where(AuthSession.account_id == account_id,
                                                   AuthSession.ended_at.is_(None))
              .values(ended_at=now, end_reason=reason))


def set_roles_and_scope(session_factory, viewer: Viewer, username: str, roles: Iterable[str],
                        scope_codes: Iterable[str]) -> None:
    """Replace an account's roles and area scope (安全管理员 only; never on its own account)."""
    obj = f"account:{username}"
    roles, scope_codes = sorted(set(roles)), sorted(set(scope_codes))
    guard.require(viewer, ROLE_ASSIGN, obj, detail={"roles": roles, "scope": scope_codes}, log_grant=False)
    if username == viewer.username:
        raise _refuse(viewer, "role.assign", obj, "三员分立：不能给自己分配角色或范围")
    try:
        check_role_set(roles)
        AreaScope.of(scope_codes)
    except (RoleError, ScopeError) as exc:
        raise _refuse(viewer, "role.assign", obj, str(exc)) from None
    if set(roles) & ADMIN_ROLES and scope_codes:
        raise _refuse(viewer, "role.assign", obj, "管理员账户不授予数据范围")
    now = _now(viewer)
    with session_factory() as s, s.begin():
        account = _account(s, username)
        before = {"roles": sorted(r.role for r in account.roles), "scope": sorted(c.area_code for c in account.scopes)}
        s.execute(delete(AccountRole).where(AccountRole.account_id == account.id))
        s.execute(delete(AccountScope).where(AccountScope.account_id == account.id))
        for role in roles:
            s.add(AccountRole(account_id=account.id, role=role, granted_at=now, granted_by=viewer.username))
        for code in scope_codes:
            s.add(AccountScope(account_id=account.id, area_code=code, granted_at=now, granted_by=viewer.username))
        # A change of rights takes effect at once: end the account's open sessions.
        s.execute(AuthSession.__table__.update().where(AuthSession.account_id == account.id,
                                                       AuthSession.ended_at.is_(None))
                  .values(ended_at=now, end_reason="rights"))
        guard.audit(viewer, "role.assign", obj, detail={"before": before, "after": {"roles": roles, "scope": scope_codes}},
                    session=s)


def security_alerts(session, viewer: Viewer, limit: int = 200) -> list[dict]:
    """Bursts of sensitive reads (`throttle`) for the security administrator: who, when, what; no other audit rows."""
    import json

    from console.store.security_models import AuditLog

    guard.require(viewer, ROLE_ASSIGN, "security_alerts", log_grant=False)
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "security.alert")
                           .order_by(AuditLog.id.desc()).limit(limit))
    out = []
    for r in rows:
        detail = json.loads(r.detail or "{}")
        out.append({"at": r.at, "account": r.actor, "kind": detail.get("kind", ""), "label": detail.get("label", "")})
    guard.audit(viewer, "security.alerts_read", "security_alerts", detail={"rows": len(out)})
    return out


def set_setting(session_factory, viewer: Viewer, key: str, value) -> None:
    obj = f"setting:{key}"
    guard.require(viewer, CONFIG_MANAGE, obj, log_grant=False)
    try:
        checked = validate_setting(key, value)
    except ValueError as exc:
        raise _refuse(viewer, "config.set", obj, str(exc)) from None
    with session_factory() as s, s.begin():
        row = s.get(SecuritySetting, key)
        old = row.value if row else None
        if row is None:
            row = SecuritySetting(key=key)
            s.add(row)
        row.value, row.updated_at, row.updated_by = str(checked), _now(viewer), viewer.username
        guard.audit(viewer, "config.set", obj, detail={"old": old, "new": str(checked)}, session=s)
    accounts.forget_identities()  # this process's gate reads the new value at once


def issue_api_key(session_factory, viewer: Viewer, owner: str, name: str, expires_at: datetime | None = None) -> str:
    """The full key, shown once; only its SHA-256 is stored. The owner must be a business account."""
    obj = f"api_key:{name}"
    guard.require(viewer, ACCOUNT_MANAGE, obj, log_grant=False)
    key, prefix, digest = generate_api_key()
    with session_factory() as s, s.begin():
        account = _account(s, owner)
        if not is_source_account(r.role for r in account.roles):
            raise _refuse(viewer, "api_key.issue", obj, "接口密钥只能签发给接入系统账户（不能代表任何人）")
        s.add(ApiKey(name=name[:64], prefix=prefix, key_hash=digest, account_id=account.id, created_at=_now(viewer),
                     created_by=viewer.username, expires_at=expires_at))
        guard.audit(viewer, "api_key.issue", obj, detail={"owner": owner, "prefix": prefix}, session=s)
    return key


def revoke_api_key(session_factory, viewer: Viewer, prefix: str) -> None:
    obj = f"api_key:{prefix}"
    guard.require(viewer, ACCOUNT_MANAGE, obj, log_grant=False)
    with session_factory() as s, s.begin():
        row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if row is None:
            raise AdminError("密钥不存在")
        row.revoked_at = _now(viewer)
        guard.audit(viewer, "api_key.revoke", obj, session=s)


__all__ = ["AccessDenied", "AdminError", "approve_password_reset", "create_account", "security_alerts", "issue_api_key", "list_accounts", "reset_password",
           "revoke_api_key", "set_enabled", "set_roles_and_scope", "set_setting", "unlock"]
