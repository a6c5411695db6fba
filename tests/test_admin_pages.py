"""账户 and 审计 pages (console/pages/admin_accounts.py, admin_audit.py) through the real console: logged-in
Flask test clients calling the Dash callbacks; 三员 and audit-read enforcement on the server."""

from __future__ import annotations

import json
import re
import sys

import pyotp
import pytest
from sqlalchemy import select

import sectest as testing
from console.store.security_models import Account, AuditLog
from tests.security_login import ORIGIN, add_account, login_client, security_settings

SECRETS = {"sys_adm": "JBSWY3DPEHPK3PXPAAAAAAAA", "sec_adm": "JBSWY3DPEHPK3PXPBBBBBBBB",
           "aud_adm": "JBSWY3DPEHPK3PXPCCCCCCCC"}
ROLES = {"sys_adm": "system_admin", "sec_adm": "security_admin", "aud_adm": "audit_admin"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from console.app import create_app
    from console.config import Settings as ConsoleSettings
    from console.store import make_engine, make_session_factory

    db = testing.migrated_db(tmp_path_factory.mktemp("admin-pages"))
    settings = security_settings()
    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=settings)
    engine = make_engine(db)
    factory = make_session_factory(engine)
    for user, role in ROLES.items():
        add_account(factory, user, [role], [], totp_secret=SECRETS[user])
    add_account(factory, "leader", ["city_leader"], ["610900"])
    yield app, factory, settings.clock
    engine.dispose()


def page(name):
    """A page module as Dash imported it (from its pages folder as `pages.<name>`); importing it again under
    `console.pages.<name>` would register its path twice."""
    return sys.modules[f"pages.{name}"]


def login(env, username):
    """A logged-in test client and its CSRF token (administrators answer the TOTP step)."""
    app, _factory, clock = env
    c = app.server.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": username, "password": testing.STRONG, "csrf_token": token},
               headers={"Origin": ORIGIN})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    if username in SECRETS:
        assert r.headers["Location"].startswith("/login/totp")
        page = c.get("/login/totp").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = c.post("/login/totp", data={"csrf_token": token, "code": pyotp.TOTP(SECRETS[username]).at(clock())},
                   headers={"Origin": ORIGIN})
        assert r.status_code == 303, r.get_data(as_text=True)[:300]
    return c, c.get_cookie("_csrf_token").value


def call(client, csrf, outputs, inputs, state=(), trigger=None):
    """POST one Dash callback: outputs [(id, prop)], inputs/state [(id, prop, value)] → (status, response dict)."""
    many = len(outputs) > 1
    plain = (".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..") if many else f"{outputs[0][0]}.{outputs[0][1]}"
    # An allow_duplicate output is registered as `id.prop@hash`: send the name Dash registered.
    names = [d["output"] for d in client.get("/_dash-dependencies").get_json()]
    body = {"output": next((n for n in names if re.sub(r"@[0-9a-f]+", "", n) == plain), plain),
            "outputs": [{"id": i, "property": p} for i, p in outputs] if many else
            {"id": outputs[0][0], "property": outputs[0][1]},
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [trigger or f"{inputs[0][0]}.{inputs[0][1]}"]}
    r = client.post("/_dash-update-component", json=body, headers={"Origin": ORIGIN, "X-CSRFToken": csrf})
    return r.status_code, (r.get_json(silent=True) or {}).get("response", {})


def render(client, csrf, path):
    status, resp = call(client, csrf, [("_pages_content", "children"), ("_pages_store", "data")],
                        [("_pages_location", "pathname", path), ("_pages_location", "search", "")])
    assert status == 200
    return json.dumps(resp["_pages_content"]["children"], ensure_ascii=False)


def audit_rows(factory, actor, action=None):
    with factory() as s:
        q = select(AuditLog.action, AuditLog.result, AuditLog.object).where(AuditLog.actor == actor)
        if action:
            q = q.where(AuditLog.action == action)
        return list(s.execute(q.order_by(AuditLog.id)))


def search_audit(client, csrf, actor=None):
    ID = page("admin_audit").ID

    return call(client, csrf, [(ID.GRID, "rowData"), (ID.STATUS, "children")], [(ID.SEARCH, "n_clicks", 1)],
                [(ID.DATES, "start_date", "2000-01-01"), (ID.DATES, "end_date", "2100-01-01"),
                 (ID.ACTOR, "value", actor), (ID.ACTION, "value", None), (ID.RESULT, "value", ""),
                 (ID.TEXT, "value", None)])


def test_audit_admin_loads_page_searches_verifies_and_exports(env):
    ID = page("admin_audit").ID

    app, factory, _clock = env
    c, csrf = login(env, "aud_adm")
    layout = render(c, csrf, "/admin/audit")
    assert ID.GRID in layout and ID.VERIFY in layout and "审计日志" in layout
    status, resp = search_audit(c, csrf, actor="aud_adm")
    assert status == 200
    rows = resp[ID.GRID]["rowData"]
    assert rows and all(r["actor"] == "aud_adm" for r in rows) and any(r["action"] == "login" or
                                                                        r["action"].startswith("login") for r in rows)
    # the 操作 column shows the action in words; the key stays in the row for its tooltip
    field = {d["headerName"]: d["field"] for d in page("admin_audit").COLUMN_DEFS}
    assert {(r["action"], r[field["操作"]]) for r in rows} >= {("login.success", "登录成功")}
    assert {(r[field["角色"]], r[field["结果"]]) for r in rows if r["action"] == "login.success"} == {("审计管理员", "允许")}
    assert "登录（全部）" in layout and "导出审计日志" in layout  # the action filter lists labels
    assert "共" in json.dumps(resp[ID.STATUS], ensure_ascii=False)
    assert ("audit.search", "granted", "audit_log") in audit_rows(factory, "aud_adm")
    status, resp = call(c, csrf, [(ID.VERIFY_OUT, "children")], [(ID.VERIFY, "n_clicks", 1)])
    assert status == 200 and "OK" in json.dumps(resp, ensure_ascii=False)
    status, resp = call(c, csrf, [(ID.DOWNLOAD, "data"), (ID.EXPORT_OUT, "children")], [(ID.EXPORT, "n_clicks", 1)],
                        [(ID.FORMAT, "value", "csv"), (ID.DATES, "start_date", None), (ID.DATES, "end_date", None),
                         (ID.ACTOR, "value", None), (ID.ACTION, "value", None), (ID.RESULT, "value", None),
                         (ID.TEXT, "value", None)])
    assert status == 200 and resp[ID.DOWNLOAD]["data"]["filename"].endswith(".csv")
    assert ("audit.export", "granted", "audit_log") in audit_rows(factory, "aud_adm")


def test_city_leader_is_refused_the_audit_search_and_the_refusal_is_audited(env):
    ID = page("admin_audit").ID

    _app, factory, _clock = env
    c, csrf = login(env, "leader")
    assert "无权限" in render(c, csrf, "/admin/audit")
    status, resp = search_audit(c, csrf)
    assert status == 403 or (resp[ID.GRID]["rowData"] == [] and "无权限" in json.dumps(resp, ensure_ascii=False))
    assert {("access.denied", "refused", "audit_log"), ("access.denied", "refused", "callback:admin_audit.search")} \
        & set(audit_rows(factory, "leader"))  # refused by the gate (registry) or by audit.search
    assert not audit_rows(factory, "leader", "audit.search")
    status, resp = call(c, csrf, [(ID.VERIFY_OUT, "children")], [(ID.VERIFY, "n_clicks", 1)])
    assert status == 403 or "无权限" in json.dumps(resp, ensure_ascii=False)


def create(client, csrf, username):
    ID = page("admin_accounts").ID

    return call(client, csrf, [(ID.CREATE_MSG, "children"), (ID.CHANGED, "data")], [(ID.CREATE, "n_clicks", 1)],
                [(ID.NEW_USER, "value", username), (ID.NEW_NAME, "value", "新同事"), (ID.CHANGED, "data", 0)])


def test_system_admin_creates_account_and_sees_the_one_time_password(env):
    ID = page("admin_accounts").ID

    _app, factory, _clock = env
    c, csrf = login(env, "sys_adm")
    assert ID.CREATE in render(c, csrf, "/admin/accounts")
    status, resp = create(c, csrf, "new_worker")
    assert status == 200, resp
    msg = json.dumps(resp[ID.CREATE_MSG], ensure_ascii=False)
    assert "一次性密码" in msg and resp[ID.CHANGED]["data"] == 1
    with factory() as s:
        account = s.scalar(select(Account).where(Account.username == "new_worker"))
        assert account is not None and account.must_change_password and not account.roles
    assert ("account.create", "granted", "account:new_worker") in audit_rows(factory, "sys_adm")
    status, resp = create(c, csrf, "new_worker")  # duplicate → the admin module's Chinese message
    assert status == 200 and "用户名已存在" in json.dumps(resp, ensure_ascii=False)
    status, resp = call(c, csrf, [(ID.GRID, "rowData"), (ID.LIST_MSG, "children")], [(ID.REFRESH, "n_clicks", 1), (ID.CHANGED, "data", 1)],
                        [], trigger=f"{ID.REFRESH}.n_clicks")
    assert status == 200 and any(r["username"] == "new_worker" for r in resp[ID.GRID]["rowData"])
    status, resp = call(c, csrf, [(ID.ACTION_MSG, "children"), (ID.CHANGED, "data")],
                        [(ID.ENABLE, "n_clicks", 0), (ID.DISABLE, "n_clicks", 1), (ID.UNLOCK, "n_clicks", 0),
                         (ID.RESET, "n_clicks", 0)], [(ID.TARGET, "value", "new_worker"), (ID.CHANGED, "data", 1)],
                        trigger=f"{ID.DISABLE}.n_clicks")
    assert status == 200 and "已停用" in json.dumps(resp, ensure_ascii=False)


def test_security_admin_cannot_create_accounts_but_assigns_roles(env):
    ID = page("admin_accounts").ID

    _app, factory, _clock = env
    add_account(factory, "plain_user", [], [])
    c, csrf = login(env, "sec_adm")
    status, resp = create(c, csrf, "sneaky")
    assert status == 403 or "无权限" in json.dumps(resp, ensure_ascii=False)
    with factory() as s:
        assert s.scalar(select(Account.id).where(Account.username == "sneaky")) is None
    assert {("access.denied", "refused", "account:sneaky"), ("access.denied", "refused", "callback:admin_accounts.create")} \
        & set(audit_rows(factory, "sec_adm"))
    status, resp = call(c, csrf, [(ID.ROLES_MSG, "children"), (ID.CHANGED, "data")], [(ID.SAVE_ROLES, "n_clicks", 1)],
                        [(ID.TARGET, "value", "plain_user"), (ID.ROLES, "value", ["town"]),
                         (ID.SCOPE, "value", "610902001"), (ID.CHANGED, "data", 0)])
    assert status == 200 and "已更新" in json.dumps(resp, ensure_ascii=False), resp
    status, resp = call(c, csrf, [(ID.ROLES_MSG, "children"), (ID.CHANGED, "data")], [(ID.SAVE_ROLES, "n_clicks", 2)],
                        [(ID.TARGET, "value", "sec_adm"), (ID.ROLES, "value", ["audit_admin"]),
                         (ID.SCOPE, "value", ""), (ID.CHANGED, "data", 1)])
    assert status == 200 and "不能给自己分配" in json.dumps(resp, ensure_ascii=False)
