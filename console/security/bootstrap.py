"""Create the first administrators; there is no default account.

    python -m console.security.bootstrap --db PATH_OR_URL                     # first 系统管理员
    python -m console.security.bootstrap --db … --role security_admin --username secadmin
    python -m console.security.bootstrap --db … --role audit_admin --username auditor
    python -m console.security.bootstrap --db … --reset USERNAME              # administrator lost password/TOTP

Each role can be bootstrapped once (refused when an account with that role exists): afterwards the
system administrator creates accounts and the security administrator grants roles. Runs on the
server only (whoever can run it can read the database file anyway); every run is audited as
``cli:<os user>``. The printed password is one-time: it must be changed at first login, and
administrators then bind a TOTP authenticator.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select

from console.store import make_engine, make_session_factory, upgrade_schema
from console.store.security_models import Account, AccountRole, AuthSession

from . import audit, passwords
from .config import utcnow
from .roles import ADMIN_ROLES, ROLE_LABELS

DEFAULT_NAMES = {"system_admin": "sysadmin", "security_admin": "secadmin", "audit_admin": "auditadmin"}


def bootstrap(session_factory, role: str = "system_admin", username: str | None = None,
              display_name: str = "", actor: str | None = None) -> tuple[str, str]:
    """(username, one-time password). Raises ValueError when refused."""
    if role not in ADMIN_ROLES:
        raise ValueError(f"只能初始化三员角色: {', '.join(sorted(ADMIN_ROLES))}")
    username = username or DEFAULT_NAMES[role]
    actor = actor or f"cli:{getpass.getuser()}"
    now = utcnow()
    otp = passwords.one_time_password()
    with session_factory() as s, s.begin():
        exists = s.scalar(select(AccountRole.account_id).where(AccountRole.role == role).limit(1)) is not None
        if exists:
            audit.append(s, actor, "bootstrap", object=f"role:{role}", result="refused",
                         detail={"reason": "exists"}, at=now)
    if exists:
        raise ValueError(f"已存在{ROLE_LABELS[role]}账户；新增账户请由系统管理员创建、安全管理员授权")
    with session_factory() as s, s.begin():
        if s.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise ValueError(f"用户名已存在: {username}")
        account = Account(username=username, display_name=display_name or ROLE_LABELS[role],
                          password_hash=passwords.hash_password(otp), password_changed_at=now,
                          must_change_password=True, enabled=True, failed_logins=0, created_at=now,
                          created_by=actor)
        s.add(account)
        s.flush()
        s.add(AccountRole(account_id=account.id, role=role, granted_at=now, granted_by=actor))
        audit.append(s, actor, "bootstrap", object=f"account:{username}", detail={"role": role}, at=now)
    return username, otp


def reset_admin(session_factory, username: str, actor: str | None = None) -> str:
    """New one-time password, TOTP unbound, lock cleared, sessions ended (server console only)."""
    actor = actor or f"cli:{getpass.getuser()}"
    now = utcnow()
    otp = passwords.one_time_password()
    with session_factory() as s, s.begin():
        account = s.scalar(select(Account).where(Account.username == username))
        if account is None:
            raise ValueError(f"账户不存在: {username}")
        account.password_hash = passwords.hash_password(otp)
        account.password_changed_at, account.must_change_password = now, True
        account.totp_secret, account.totp_enabled, account.totp_last_step = None, False, None
        account.locked_until, account.failed_logins, account.enabled = None, 0, True
        s.execute(AuthSession.__table__.update().where(AuthSession.account_id == account.id,
                                                       AuthSession.ended_at.is_(None))
                  .values(ended_at=now, end_reason="reset"))
        audit.append(s, actor, "bootstrap.reset", object=f"account:{username}", at=now)
    return otp


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.security.bootstrap", description="初始化三员账户")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL 或 SQLite 文件路径")
    parser.add_argument("--role", default="system_admin", choices=sorted(ADMIN_ROLES))
    parser.add_argument("--username")
    parser.add_argument("--display-name", default="")
    parser.add_argument("--reset", metavar="USERNAME", help="重置该账户的密码与动态验证码")
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    upgrade_schema(engine)
    factory = make_session_factory(engine)
    try:
        if args.reset:
            otp = reset_admin(factory, args.reset)
            username = args.reset
        else:
            username, otp = bootstrap(factory, args.role, args.username, args.display_name)
    except ValueError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    print(f"账户: {username}")
    print(f"一次性密码: {otp}")
    print("首次登录须修改密码；管理员还须绑定动态验证码（TOTP）。此密码不会再次显示。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
