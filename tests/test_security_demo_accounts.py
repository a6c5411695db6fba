"""Demo accounts: only on a demo world, random one-time passwords, forced change, audited, idempotent."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select, text

from console.security import passwords
from console.field import roster
from console.security.demo_accounts import (DEMO_ACCOUNTS, DEMO_PHONE_GRID_PREFIX, NO_PASSWORD,
                                             create_demo_accounts, main)
from console.store import GridWorker
from console.store.patrol_models import Patrol
from console.store import make_engine, make_session_factory, upgrade_schema
from console.store.security_models import Account

pytestmark = pytest.mark.xdist_group("small_world")


@pytest.fixture()
def world_copy(small_world_db, tmp_path):
    path = tmp_path / "w.sqlite"
    shutil.copy(small_world_db, path)
    engine = make_engine(path)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


def test_creates_each_account_once_with_a_forced_change(world_copy):
    factory = make_session_factory(world_copy)
    first = create_demo_accounts(factory, "cli:test")
    business = [u for u, _, _ in DEMO_ACCOUNTS]
    assert [u for u, _, _ in first][:len(business)] == business
    phones = [u for u, _, _ in first][len(business):]  # at most the pilot town's one demo 网格员
    assert len(phones) <= 1 and all(u.startswith("wg" + DEMO_PHONE_GRID_PREFIX) for u in phones)
    assert len({otp for _, _, otp in first}) == len(first)
    with factory() as s:
        accounts = {a.username: a for a in s.scalars(select(Account))}
    for username, _label, otp in first:
        assert accounts[username].must_change_password
        assert passwords.verify_password(accounts[username].password_hash, otp)
        assert otp not in accounts[username].password_hash
    assert create_demo_accounts(factory, "cli:test") == []


def test_refused_on_a_database_that_is_not_a_demo_world(world_copy, capsys):
    with world_copy.begin() as conn:
        conn.execute(text("UPDATE world_meta SET value='false' WHERE key='synthetic'"))
    assert main(["--db", str(world_copy.url.database)]) == 2
    assert "演示数据库" in capsys.readouterr().err


def test_the_demo_month_workers_get_accounts_the_duty_desk_can_send_to(world_copy):
    """Without them the duty desk's 派往 of a demo world lists nobody."""
    factory = make_session_factory(world_copy)
    create_demo_accounts(factory, "cli:test")
    with factory() as s:
        workers = sorted(set(s.scalars(select(Patrol.worker).where(Patrol.worker.like("wg%")))))
        assert workers, "the demo world has a month of patrols"
        grid = workers[0][2:]
        listed = roster.workers(s, grid)
        name = s.scalar(select(GridWorker.name).where(GridWorker.grid_code == grid, GridWorker.role == "worker"))
        assert [w["username"] for w in listed] == [workers[0]]
        assert listed[0]["name"] == name and "*" in listed[0]["phone"]
        locked = [a for a in s.scalars(select(Account).where(Account.username.in_(workers)))
                  if a.password_hash == NO_PASSWORD]
        assert len(locked) >= len(workers) - 1
        assert not passwords.verify_password(NO_PASSWORD, "!locked")
        assert not passwords.verify_password(NO_PASSWORD, "")
