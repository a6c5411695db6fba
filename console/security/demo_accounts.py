"""Business accounts for a demo world, so a newcomer can look at the console after `make run`.

    python -m console.security.demo_accounts --db PATH_OR_URL

Refused unless the database holds a synthetic demo world (`world_meta.synthetic = true`). Each account
gets a random one-time password, printed once and never stored in clear; it must be changed at first
login — so there is still no account with a known password. Existing accounts are left alone.

The demo month's 网格员 (`wg<grid code>`, world/fieldmonth.py) get accounts too, so the duty desk's 派往 lists
them: named as the grid's roster names them, scoped to their grid, and locked behind a password hash nothing
verifies — the system administrator sets a password for the ones someone wants to try on a phone. One of them,
in the pilot town, gets a one-time password like the others (`DEMO_PHONE_GRID_PREFIX`).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select

from console.store import GridWorker, WorldMeta, make_engine, make_session_factory, upgrade_schema
from console.store.patrol_models import Patrol
from console.store.security_models import Account, AccountRole, AccountScope

from . import audit, passwords
from .config import utcnow
from .roles import ROLE_LABELS

# (username, role, area scope): a pilot county and town from the policy (紫阳县), the city for the rest.
DEMO_ACCOUNTS = (
    ("leader", "city_leader", "610900"),
    ("duty", "duty_officer", "610900"),
    ("mediator", "dispute_handler", "610900"),
    ("planner", "grid_planner", "610900"),
    ("ziyang", "county", "610924"),
    ("chengguan", "town", "610924100"),
)
DEMO_PHONE_GRID_PREFIX = "610924100"  # the demo 网格员 who gets a one-time password: the pilot town's first grid
NO_PASSWORD = "!locked"  # not a hash: verify_password refuses every password against it


def create_demo_accounts(session_factory, actor: str) -> list[tuple[str, str, str]]:
    """Create the missing demo accounts; returns (username, role label, one-time password) for each new one."""
    now = utcnow()
    created = []
    with session_factory() as s, s.begin():
        if s.scalar(select(WorldMeta.value).where(WorldMeta.key == "synthetic")) != "true":
            raise ValueError("只能为演示数据库创建演示账户（world_meta.synthetic 不为 true）")
        for username, role, scope in DEMO_ACCOUNTS:
            if s.scalar(select(Account.id).where(Account.username == username)) is not None:
                continue
            otp = passwords.one_time_password()
            account = Account(username=username, display_name=f"演示·{ROLE_LABELS[role]}",
                              password_hash=passwords.hash_password(otp), password_changed_at=now,
                              must_change_password=True, enabled=True, failed_logins=0, created_at=now,
                              created_by=actor)
            s.add(account)
            s.flush()
            s.add(AccountRole(account_id=account.id, role=role, granted_at=now, granted_by=actor))
            s.add(AccountScope(account_id=account.id, area_code=scope, granted_at=now, granted_by=actor))
            audit.append(s, actor, "demo.account", object=f"account:{username}",
                         detail={"role": role, "scope": scope}, at=now)
            created.append((username, ROLE_LABELS[role], otp))
        created += _grid_worker_accounts(s, actor, now)
    return created


def _grid_worker_accounts(s, actor: str, now) -> list[tuple[str, str, str]]:
    """An account per demo 网格员 of the field month (see the module's doc)."""
    workers = sorted(set(s.scalars(select(Patrol.worker).where(Patrol.worker.like("wg%")).distinct())))
    existing = set(s.scalars(select(Account.username).where(Account.username.like("wg%"))))
    names = dict(s.execute(select(GridWorker.grid_code, GridWorker.name).where(GridWorker.role == "worker")).all())
    shown = next((w for w in workers if w[2:].startswith(DEMO_PHONE_GRID_PREFIX)), None)
    created = []
    for username in workers:
        if username in existing:
            continue
        grid = username[2:]
        otp = passwords.one_time_password() if username == shown else None
        account = Account(username=username, display_name=names.get(grid) or username,
                          password_hash=passwords.hash_password(otp) if otp else NO_PASSWORD,
                          password_changed_at=now, must_change_password=True, enabled=True, failed_logins=0,
                          created_at=now, created_by=actor)
        s.add(account)
        s.flush()
        s.add(AccountRole(account_id=account.id, role="grid_worker", granted_at=now, granted_by=actor))
        s.add(AccountScope(account_id=account.id, area_code=grid, granted_at=now, granted_by=actor))
        if otp:
            created.append((username, ROLE_LABELS["grid_worker"], otp))
    if workers:
        audit.append(s, actor, "demo.account", object="grid_workers",
                     detail={"role": "grid_worker", "accounts": len(workers) - len(existing & set(workers))}, at=now)
    return created


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console.security.demo_accounts", description="创建演示账户")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL 或 SQLite 文件路径")
    args = parser.parse_args(argv)
    engine = make_engine(args.db, must_exist=True)
    upgrade_schema(engine)
    try:
        created = create_demo_accounts(make_session_factory(engine), f"cli:{getpass.getuser()}")
    except ValueError as exc:
        print(f"错误: {exc}", file=sys.stderr)
        return 2
    if created:
        print("演示账户（一次性密码只显示这一次，首次登录须修改）:")
        for username, label, otp in created:
            print(f"  {username:<10} {label:<6} {otp}")
    else:
        print("演示账户已存在；忘记密码请由系统管理员重置")
    return 0


if __name__ == "__main__":
    sys.exit(main())
