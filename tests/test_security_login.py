"""Login, lockout, idle timeout, forced change, password expiry, TOTP — pure functions, injected clock."""

import pyotp
import pytest
from sqlalchemy import select

from console.security import accounts
import sectest as testing
from console.security.accounts import LOGIN_FAILED, STAGE_ACTIVE, STAGE_CHANGE, STAGE_ENROLL, STAGE_TOTP
from console.security.hardening import RateLimiter
from console.store.security_models import Account, AuditLog

testing.use_fast_hasher()
PW = testing.STRONG


@pytest.fixture
def env(tmp_path):
    clock = testing.Clock()
    engine, factory = testing.store(tmp_path)
    yield clock, factory, testing.settings(clock)
    engine.dispose()


def audit_actions(factory, actor=None):
    with factory() as s:
        q = select(AuditLog.action, AuditLog.result, AuditLog.detail).order_by(AuditLog.id)
        if actor:
            q = q.where(AuditLog.actor == actor)
        return s.execute(q).all()


def test_lockout_after_five_failures_then_unlock_after_thirty_minutes(env):
    clock, factory, settings = env
    testing.add_account(factory, "zhangsan", ["grid_worker"], ["610902001001001"])
    for _ in range(5):
        assert not accounts.authenticate(factory, settings, "zhangsan", "Wrong#pass1", "10.0.0.9").ok
    # Locked: even the right password is refused, with the same message.
    locked = accounts.authenticate(factory, settings, "zhangsan", PW, "10.0.0.9")
    assert not locked.ok and locked.message == LOGIN_FAILED
    clock.advance(minutes=29, seconds=59)
    assert not accounts.authenticate(factory, settings, "zhangsan", PW, "10.0.0.9").ok
    clock.advance(seconds=2)
    ok = accounts.authenticate(factory, settings, "zhangsan", PW, "10.0.0.9")
    assert ok.ok and ok.stage == STAGE_ACTIVE
    actions = [a for a, _, _ in audit_actions(factory, "zhangsan")]
    assert actions.count("login.failure") == 7 and actions.count("account.lock") == 1
    assert actions[-1] == "login.success"


def test_four_failures_do_not_lock_and_success_resets_the_count(env):
    clock, factory, settings = env
    testing.add_account(factory, "lisi", ["town"], ["610902001"])
    for _ in range(4):
        accounts.authenticate(factory, settings, "lisi", "nope", "1.2.3.4")
    assert accounts.authenticate(factory, settings, "lisi", PW, "1.2.3.4").ok
    for _ in range(4):
        accounts.authenticate(factory, settings, "lisi", "nope", "1.2.3.4")
    assert accounts.authenticate(factory, settings, "lisi", PW, "1.2.3.4").ok


def test_messages_do_not_reveal_whether_the_user_exists(env):
    clock, factory, settings = env
    testing.add_account(factory, "wangwu", ["county"], ["610902"])
    unknown = accounts.authenticate(factory, settings, "nobody", PW, "1.1.1.1")
    wrong = accounts.authenticate(factory, settings, "wangwu", "Wrong#pass1", "1.1.1.1")
    assert unknown.message == wrong.message == LOGIN_FAILED
    with factory() as s, s.begin():
        s.scalar(select(Account).where(Account.username == "wangwu")).enabled = False
    assert accounts.authenticate(factory, settings, "wangwu", PW, "1.1.1.1").message == LOGIN_FAILED
    reasons = [d for a, r, d in audit_actions(factory) if a == "login.failure"]
    assert any("unknown_user" in d for d in reasons) and any("disabled" in d for d in reasons)


def test_per_ip_rate_limit(env):
    clock, factory, settings = env
    ticks = [0.0]
    limiter = RateLimiter(burst=3, per_minute=6, clock=lambda: ticks[0])
    results = [accounts.authenticate(factory, settings, "x", "y", "9.9.9.9", limiter).message for _ in range(4)]
    assert results[:3] == [LOGIN_FAILED] * 3 and results[3] == accounts.RATE_LIMITED
    assert accounts.authenticate(factory, settings, "x", "y", "9.9.9.8", limiter).message == LOGIN_FAILED
    ticks[0] += 10  # one token per 10 s
    assert accounts.authenticate(factory, settings, "x", "y", "9.9.9.9", limiter).message == LOGIN_FAILED
    assert ("login.rate_limited", "refused") in [(a, r) for a, r, _ in audit_actions(factory)]


def test_idle_timeout_ends_the_session(env):
    clock, factory, settings = env
    aid = testing.add_account(factory, "idle", ["town"], ["610902001"])
    token, _ = accounts.open_session(factory, settings, aid, STAGE_ACTIVE, "1.1.1.1")
    clock.advance(minutes=29)
    state, reason = accounts.load_session(factory, settings, token, "1.1.1.1")
    assert state is not None and reason == ""
    clock.advance(minutes=29)  # activity at 29 min pushed the deadline
    assert accounts.load_session(factory, settings, token, "1.1.1.1")[0] is not None
    clock.advance(minutes=30, seconds=1)
    state, reason = accounts.load_session(factory, settings, token, "1.1.1.1")
    assert state is None and reason == "idle"
    assert accounts.load_session(factory, settings, token, "1.1.1.1") == (None, "ended")
    assert ("session.end", "granted") in [(a, r) for a, r, _ in audit_actions(factory, "idle")]


def test_unknown_or_forged_token_is_refused(env):
    clock, factory, settings = env
    assert accounts.load_session(factory, settings, "forged-token", "1.1.1.1") == (None, "unknown")
    assert accounts.load_session(factory, settings, None, "1.1.1.1") == (None, "missing")
    assert accounts.load_session(factory, settings, "x" * 5000, "1.1.1.1") == (None, "missing")


def test_forced_change_at_first_login_and_after_max_age(env):
    clock, factory, settings = env
    aid = testing.add_account(factory, "newbie", ["village"], ["610902001001"], must_change=True, now=clock())
    assert accounts.authenticate(factory, settings, "newbie", PW, "1.1.1.1").stage == STAGE_CHANGE
    problems = accounts.change_password(factory, settings, aid, PW, "short", "short", "1.1.1.1")
    assert problems
    problems = accounts.change_password(factory, settings, aid, PW, PW, PW, "1.1.1.1")
    assert "新密码不能与原密码相同" in problems
    assert accounts.change_password(factory, settings, aid, "bad", "New#Pass2026", "New#Pass2026", "1.1.1.1")
    assert accounts.change_password(factory, settings, aid, PW, "New#Pass2026", "New#Pass2026", "1.1.1.1") == []
    assert accounts.authenticate(factory, settings, "newbie", "New#Pass2026", "1.1.1.1").stage == STAGE_ACTIVE
    clock.advance(days=settings.password_max_age_days + 1)
    assert accounts.authenticate(factory, settings, "newbie", "New#Pass2026", "1.1.1.1").stage == STAGE_CHANGE


def test_password_change_ends_other_sessions(env):
    clock, factory, settings = env
    aid = testing.add_account(factory, "multi", ["town"], ["610902001"])
    t1, _ = accounts.open_session(factory, settings, aid, STAGE_ACTIVE, "1.1.1.1")
    t2, _ = accounts.open_session(factory, settings, aid, STAGE_ACTIVE, "1.1.1.2")
    assert accounts.change_password(factory, settings, aid, PW, "Other#2026pw", "Other#2026pw", "1.1.1.1",
                                    accounts.token_hash(t1)) == []
    assert accounts.load_session(factory, settings, t1, "1.1.1.1")[0] is not None
    assert accounts.load_session(factory, settings, t2, "1.1.1.2") == (None, "ended")


@pytest.mark.parametrize("role", ["system_admin", "security_admin", "audit_admin"])
def test_totp_is_required_for_the_three_admins(env, role):
    clock, factory, settings = env
    aid = testing.add_account(factory, "adm", [role])
    result = accounts.authenticate(factory, settings, "adm", PW, "1.1.1.1")
    assert result.ok and result.stage == STAGE_ENROLL  # cannot reach the console before binding TOTP
    secret, uri = accounts.begin_totp_enrollment(factory, aid)
    assert uri.startswith("otpauth://totp/")
    assert not accounts.check_totp(factory, settings, aid, "000000", "1.1.1.1", enrolling=True).ok
    code = pyotp.TOTP(secret).at(clock())
    assert accounts.check_totp(factory, settings, aid, code, "1.1.1.1", enrolling=True).stage == STAGE_ACTIVE
    clock.advance(seconds=60)
    # Next login: password, then TOTP.
    result = accounts.authenticate(factory, settings, "adm", PW, "1.1.1.1")
    assert result.stage == STAGE_TOTP
    code = pyotp.TOTP(secret).at(clock())
    assert accounts.check_totp(factory, settings, aid, code, "1.1.1.1").stage == STAGE_ACTIVE
    # The same code cannot be replayed.
    replay = accounts.check_totp(factory, settings, aid, code, "1.1.1.1")
    assert not replay.ok


def test_business_user_needs_no_totp_but_may_use_it(env):
    clock, factory, settings = env
    testing.add_account(factory, "plain", ["grid_worker"], ["610902001001001"])
    assert accounts.authenticate(factory, settings, "plain", PW, "1.1.1.1").stage == STAGE_ACTIVE
    secret = pyotp.random_base32()
    aid = testing.add_account(factory, "careful", ["grid_worker"], ["610902001001001"], totp_secret=secret)
    assert accounts.authenticate(factory, settings, "careful", PW, "1.1.1.1").stage == STAGE_TOTP
    assert accounts.check_totp(factory, settings, aid, pyotp.TOTP(secret).at(clock()), "1.1.1.1").ok


def test_totp_failures_count_towards_the_lock(env):
    clock, factory, settings = env
    secret = pyotp.random_base32()
    aid = testing.add_account(factory, "guess", ["system_admin"], totp_secret=secret)
    for _ in range(5):
        accounts.authenticate(factory, settings, "guess", PW, "1.1.1.1")
        accounts.check_totp(factory, settings, aid, "123456" if pyotp.TOTP(secret).at(clock()) != "123456"
                            else "654321", "1.1.1.1")
    assert accounts.authenticate(factory, settings, "guess", PW, "1.1.1.1").message == LOGIN_FAILED


def test_stored_totp_secret_is_encrypted_when_a_key_is_configured(env):
    import os

    from sqlalchemy import text

    from console.store import crypto

    clock, factory, settings = env
    crypto.set_keyring(crypto.KeyRing((os.urandom(32),)))
    try:
        secret = pyotp.random_base32()
        testing.add_account(factory, "enc", ["grid_worker"], totp_secret=secret)
        with factory() as s:
            raw = s.execute(text("select totp_secret from account where username='enc'")).scalar()
            assert raw.startswith("aes1:") and secret not in raw
            assert s.scalar(select(Account.totp_secret).where(Account.username == "enc")) == secret
    finally:
        crypto.reset_keyring()


def test_settings_changed_by_the_system_admin_take_effect_and_stay_within_policy(env):
    from console.security import admin
    from console.security.config import Settings

    clock, factory, settings = env
    testing.add_account(factory, "sys", ["system_admin"])
    aid = testing.add_account(factory, "u", ["town"], ["610902001"])
    admin.set_setting(factory, testing.viewer_of(factory, "sys", clock), "idle_minutes", 10)
    token, _ = accounts.open_session(factory, settings, aid, STAGE_ACTIVE, "1.1.1.1")
    clock.advance(minutes=11)
    assert accounts.load_session(factory, settings, token, "1.1.1.1") == (None, "idle")
    # Out-of-policy values stored behind the admin's back are ignored.
    weak = Settings().with_overrides({"idle_minutes": "600", "lock_threshold": "100", "lock_minutes": "1"})
    assert (weak.idle_minutes, weak.lock_threshold, weak.lock_minutes) == (30, 5, 30)


def test_the_gate_remembers_a_session_but_an_ending_anywhere_is_refused_at_once(env):
    """`remember=True` (the gate): the second check reads only the session's own row, not the account, its roles,
    scopes and the settings; a session ended by another process (a raw write on the database) is refused at the
    next request, and the idle timeout still applies."""
    import sqlite3

    from sqlalchemy import event

    clock, factory, settings = env
    aid = testing.add_account(factory, "remembered", ["town"], ["610902001"])
    token, _ = accounts.open_session(factory, settings, aid, STAGE_ACTIVE, "1.1.1.1")
    engine = factory.kw["bind"]
    statements = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    first, _ = accounts.load_session(factory, settings, token, "1.1.1.1", remember=True)
    full = len(statements)
    statements.clear()
    clock.advance(seconds=5)
    again, reason = accounts.load_session(factory, settings, token, "1.1.1.1", remember=True)
    assert reason == "" and again.identity == first.identity and again.identity.scopes == ("610902001",)
    assert again.identity.viewer().sees("610902001001") and not again.identity.viewer().sees("610903")
    assert full >= 4 and len(statements) == 1 and "auth_session" in statements[0]
    con = sqlite3.connect(engine.url.database)  # another process ends the session (logout, new rights, …)
    con.execute("update auth_session set ended_at = '2026-11-26 08:00:06', end_reason = 'rights'")
    con.commit()
    con.close()
    assert accounts.load_session(factory, settings, token, "1.1.1.1", remember=True) == (None, "ended")
    # idle: a remembered session past the idle limit takes the full path and ends
    token, _ = accounts.open_session(factory, settings, aid, STAGE_ACTIVE, "1.1.1.1")
    assert accounts.load_session(factory, settings, token, "1.1.1.1", remember=True)[0] is not None
    clock.advance(minutes=31)
    assert accounts.load_session(factory, settings, token, "1.1.1.1", remember=True) == (None, "idle")
