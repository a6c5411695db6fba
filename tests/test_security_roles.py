"""Roles → permissions, area scope, and 三员 separation: every cross-duty attempt refused AND audited."""

import pytest
from sqlalchemy import select

from console.security import admin, audit, guard
import sectest as testing
from console.security.admin import AdminError
from console.security.guard import AccessDenied, Viewer
from console.security.permissions import (
    ACCOUNT_MANAGE, ADMIN_PERMISSIONS, ALL_PERMISSIONS, AUDIT_READ, CONFIG_MANAGE, EXPORT, LAYER_SPECIAL,
    ROLE_ASSIGN, UNMASK,
)
from console.security.roles import ADMIN_ROLES, ROLES, RoleError, check_role_set, permissions_for
from console.store.security_models import Account, AuditLog

testing.use_fast_hasher()
VILLAGE = "610902001001"
GRID = VILLAGE + "001"


@pytest.fixture
def env(tmp_path):
    clock = testing.Clock()
    engine, factory = testing.store(tmp_path)
    for name, role in (("sys", "system_admin"), ("sec", "security_admin"), ("aud", "audit_admin")):
        testing.add_account(factory, name, [role])
    testing.add_account(factory, "worker", ["grid_worker"], [GRID])
    testing.add_account(factory, "leader", ["city_leader"], ["610900"])
    viewers = {n: testing.viewer_of(factory, n, clock) for n in ("sys", "sec", "aud", "worker", "leader")}
    yield factory, viewers
    engine.dispose()


def refused_rows(factory, actor):
    with factory() as s:
        return s.execute(select(AuditLog.action, AuditLog.object).where(AuditLog.actor == actor,
                                                                        AuditLog.result == "refused")).all()


def test_permission_names_are_the_agreed_ones():
    assert set(ALL_PERMISSIONS) == {
        "layer:areas", "layer:grids", "view:kpi", "view:persons", "view:cases", "layer:population", "layer:special", "layer:disputes", "layer:cameras", "layer:orgs", "view:video", "unmask", "export",
        "grid:edit", "alert:act", "dispute:register", "dispute:route", "account:manage", "role:assign",
        "audit:read", "config:manage", "view:alerts", "display:wall", "field:sync", "field:review", "import:ledgers",
        "view:assessment"} | {"layer:safety", "layer:incidents", "incident:command"} | {"video:ptz"}  # 公共安全 (docs/safety.md, docs/video.md)
    labels = {r.label for r in ROLES.values()}
    assert labels == {"网格员", "村社区", "镇办", "县区", "市领导", "值班员", "网格规划员", "纠纷调处员", "接入系统", "大屏展示",
                      "系统管理员", "安全管理员", "审计管理员"}


def test_admin_duties_are_disjoint_and_not_in_business_roles():
    owners = {p: [k for k, r in ROLES.items() if p in r.permissions] for p in ADMIN_PERMISSIONS}
    assert owners == {ACCOUNT_MANAGE: ["system_admin"], CONFIG_MANAGE: ["system_admin"],
                      ROLE_ASSIGN: ["security_admin"], AUDIT_READ: ["audit_admin"]}
    for key in ADMIN_ROLES:
        assert not (permissions_for([key]) - ADMIN_PERMISSIONS)
    assert permissions_for(["system_admin"]).isdisjoint({AUDIT_READ, ROLE_ASSIGN})


def test_role_sets_cannot_mix_admin_duties():
    with pytest.raises(RoleError):
        check_role_set(["system_admin", "audit_admin"])
    with pytest.raises(RoleError):
        check_role_set(["security_admin", "town"])
    with pytest.raises(RoleError):
        check_role_set(["root"])
    assert check_role_set(["town", "dispute_handler"]) == {"town", "dispute_handler"}


def test_scope_and_permission_checks_are_audited_on_refusal(env):
    factory, v = env
    worker = v["worker"]
    guard.require(worker, LAYER_SPECIAL)
    guard.require_area(worker, GRID)
    guard.require_area(worker, GRID + "")
    with pytest.raises(AccessDenied):
        guard.require_area(worker, "610902001001002")  # neighbouring grid
    with pytest.raises(AccessDenied):
        guard.require_area(worker, "610902")  # its county
    with pytest.raises(AccessDenied):
        guard.require(worker, EXPORT)
    with pytest.raises(AccessDenied):
        guard.require(v["leader"], UNMASK)
    assert len(refused_rows(factory, "worker")) == 3
    assert len(refused_rows(factory, "leader")) == 1


def test_empty_scope_sees_nothing():
    viewer = Viewer.build("x", ["town"], [])
    assert not viewer.sees("610902001") and not viewer.sees("610900")


SYS_FORBIDDEN = [
    ("role:assign", lambda f, v: admin.set_roles_and_scope(f, v, "worker", ["town"], ["610902001"])),
    ("role:assign self", lambda f, v: admin.set_roles_and_scope(f, v, "sys", ["system_admin", "audit_admin"], [])),
    ("audit:read", lambda f, v: audit.search(f(), v)),
    ("audit:export", lambda f, v: audit.export(f(), v)),
]
SEC_FORBIDDEN = [
    ("account:manage", lambda f, v: admin.create_account(f, v, "newuser")),
    ("account reset", lambda f, v: admin.reset_password(f, v, "worker")),
    ("config", lambda f, v: admin.set_setting(f, v, "idle_minutes", 10)),
    ("audit:read", lambda f, v: audit.search(f(), v)),
    ("self grant", lambda f, v: admin.set_roles_and_scope(f, v, "sec", ["security_admin"], [])),
    ("self grant audit", lambda f, v: admin.set_roles_and_scope(f, v, "sec", ["audit_admin"], [])),
    ("mix admin", lambda f, v: admin.set_roles_and_scope(f, v, "worker", ["audit_admin", "town"], [])),
    ("business data", lambda f, v: guard.require(v, LAYER_SPECIAL)),
]
AUD_FORBIDDEN = [
    ("account:manage", lambda f, v: admin.create_account(f, v, "newuser")),
    ("unlock", lambda f, v: admin.unlock(f, v, "worker")),
    ("role:assign", lambda f, v: admin.set_roles_and_scope(f, v, "aud", ["audit_admin", "system_admin"], [])),
    ("config", lambda f, v: admin.set_setting(f, v, "idle_minutes", 10)),
    ("business data", lambda f, v: guard.require(v, EXPORT)),
]
SYS_MORE = [
    ("reset another admin", lambda f, v: admin.reset_password(f, v, "aud")),
    ("api key for admin", lambda f, v: admin.issue_api_key(f, v, "sec", "k")),
    ("weaken policy", lambda f, v: admin.set_setting(f, v, "lock_threshold", 50)),
    ("disable self", lambda f, v: admin.set_enabled(f, v, "sys", False)),
    ("business data", lambda f, v: guard.require(v, LAYER_SPECIAL)),
]


@pytest.mark.parametrize("who,case", [("sys", c) for c in SYS_FORBIDDEN + SYS_MORE] +
                         [("sec", c) for c in SEC_FORBIDDEN] + [("aud", c) for c in AUD_FORBIDDEN],
                         ids=lambda x: x if isinstance(x, str) else x[0])
def test_cross_duty_attempts_are_refused_and_audited(env, who, case):
    factory, v = env
    before = len(refused_rows(factory, who))
    with pytest.raises((AccessDenied, AdminError)):
        case[1](factory, v[who])
    assert len(refused_rows(factory, who)) == before + 1
    with factory() as s:  # nothing changed
        roles = {a.username: sorted(r.role for r in a.roles) for a in s.scalars(select(Account))}
    assert roles["worker"] == ["grid_worker"] and roles["sys"] == ["system_admin"]
    assert roles["sec"] == ["security_admin"] and roles["aud"] == ["audit_admin"]
    assert "newuser" not in roles


def test_each_admin_does_its_own_work_and_it_is_audited(env):
    factory, v = env
    otp = admin.create_account(factory, v["sys"], "zhaoliu", "赵六")
    assert len(otp) >= 12
    admin.set_roles_and_scope(factory, v["sec"], "zhaoliu", ["town"], ["610902001"])
    admin.set_setting(factory, v["sys"], "idle_minutes", 20)
    admin.unlock(factory, v["sys"], "worker")
    otp2 = admin.reset_password(factory, v["sys"], "worker")  # the first half; the second needs 安全管理员
    otp3 = admin.approve_password_reset(factory, v["sec"], "worker")
    assert otp2 != otp and otp3 != otp2
    testing.add_account(factory, "feeder", ["intake_source"], [GRID])
    key = admin.issue_api_key(factory, v["sys"], "feeder", "ingest")
    assert key.startswith("pak_")
    rows, total = audit.search(factory(), v["aud"])
    actions = {(r["actor"], r["action"]) for r in rows}
    assert {("sys", "account.create"), ("sec", "role.assign"), ("sys", "config.set"), ("sys", "account.unlock"),
            ("sys", "account.reset_password"), ("sys", "api_key.issue"), ("aud", "audit.search")} <= actions
    # The one-time passwords and the API key never reach the audit log.
    assert not any(secret in str(r) for r in rows for secret in (otp, otp2, otp3, key))
    with factory() as s:
        acct = s.scalar(select(Account).where(Account.username == "zhaoliu"))
        assert acct.must_change_password and [r.role for r in acct.roles] == ["town"]


def test_security_admin_may_not_grant_scope_to_an_admin(env):
    factory, v = env
    with pytest.raises(AdminError):
        admin.set_roles_and_scope(factory, v["sec"], "aud", ["audit_admin"], ["610900"])


def test_the_role_table_in_the_docs_is_the_code_s():
    """docs/security.md's role × permission table is generated (scripts/role_table.py): it cannot drift."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("role_table", Path(__file__).parent.parent / "scripts/role_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.rewritten(mod.DOC.read_text(encoding="utf-8")) == mod.DOC.read_text(encoding="utf-8"), \
        "run: python scripts/role_table.py"


def test_only_the_duty_desk_steers_domes():
    """video:ptz (云台控制, docs/video.md): 值班员 turns domes; 市领导 may watch but not steer."""
    holders = {k for k, r in ROLES.items() if "video:ptz" in r.permissions}
    assert holders == {"duty_officer"}
    assert "view:video" in ROLES["city_leader"].permissions
