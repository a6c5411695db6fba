"""账户: account administration for 系统管理员 (create / enable / disable / unlock / reset password) and
安全管理员 (roles and area scope of another account).

Every action goes through `console.security.admin`, which enforces 三员 on the server and audits granted and
refused requests alike; this page only shows their Chinese messages. Sections a role cannot use are hidden as a
courtesy, never as the enforcement."""

from __future__ import annotations

from datetime import datetime

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, callback, ctx, dcc, html

from console.pages._grid_locale import GRID_LOCALE
from console.disputes import ui
from console.security import admin
from console.security.guard import AccessDenied
from console.security.permissions import ACCOUNT_MANAGE, ROLE_ASSIGN
from console.security.roles import ROLES
from console.services import viewer as viewers
from console.services.context import current_context

dash.register_page(__name__, path="/admin/accounts", title="平安一张图 · 账户", name="账户")

COLUMNS = (("username", "用户名", 130), ("display_name", "姓名", 120), ("enabled", "启用", 70),
           ("locked_until", "锁定至", 150), ("roles", "角色", 180), ("scope", "数据范围", 200), ("totp", "动态码", 80),
           ("last_login_at", "最近登录", 150), ("must_change_password", "须改密码", 90))
ROLE_OPTIONS = [{"label": f"{r.label}（{k}）", "value": k} for k, r in ROLES.items()]


class ID:
    GRID, REFRESH, CHANGED, LIST_MSG = "acc-grid", "acc-refresh", "acc-changed", "acc-list-msg"
    NEW_USER, NEW_NAME, CREATE, CREATE_MSG = "acc-new-user", "acc-new-name", "acc-create", "acc-create-msg"
    TARGET, ENABLE, DISABLE, UNLOCK, RESET, ACTION_MSG = (
        "acc-target", "acc-enable", "acc-disable", "acc-unlock", "acc-reset", "acc-action-msg")
    ROLES, SCOPE, SAVE_ROLES, ROLES_MSG = "acc-roles", "acc-scope", "acc-save-roles", "acc-roles-msg"
    APPROVE, APPROVE_MSG = "acc-approve-reset", "acc-approve-msg"


def _section(title, children, visible):
    return html.Div([html.H4(title, style={"margin": ".2rem 0"}), *children],
                    style={**ui.PANEL, "margin": ".5rem 0", **({} if visible else {"display": "none"})})


def layout(**_query):
    viewer = viewers.current_viewer()
    manage, assign = viewer.can(ACCOUNT_MANAGE), viewer.can(ROLE_ASSIGN)
    if not (manage or assign):  # courtesy only: admin.* refuses (and audits) on the server
        return html.Div([html.H2("账户管理"), html.P("无权限执行此操作。", style=ui.ERROR)])
    return html.Div([
        dcc.Store(id=ID.CHANGED, data=0),
        html.H2("账户管理", style={"margin": ".2rem 0"}),
        html.Div(style=ui.ROW, children=[
            html.Button("刷新", id=ID.REFRESH, n_clicks=0, style=ui.BUTTON_LIGHT),
            html.Span("在表中选中一行即可对该账户操作。", style=ui.LABEL), html.Div(id=ID.LIST_MSG)]),
        dag.AgGrid(id=ID.GRID, rowData=[], style={"height": "22rem"},
                   columnDefs=[{"field": f, "headerName": h, "width": w} for f, h, w in COLUMNS],
                   defaultColDef={"sortable": True, "resizable": True, "filter": True},
                   dashGridOptions={"localeText": GRID_LOCALE, "rowSelection": {"mode": "singleRow", "checkboxes": False,
                                                    "enableClickSelection": True}}),
        html.Div(style=ui.ROW, children=[
            html.Span("操作对象", style=ui.LABEL),
            dcc.Input(id=ID.TARGET, placeholder="用户名", style={**ui.INPUT, "width": "12rem"})]),
        _section("新建账户（系统管理员）", [html.Div(style=ui.ROW, children=[
            dcc.Input(id=ID.NEW_USER, placeholder="用户名", style={**ui.INPUT, "width": "10rem"}),
            dcc.Input(id=ID.NEW_NAME, placeholder="姓名", style={**ui.INPUT, "width": "10rem"}),
            html.Button("新建", id=ID.CREATE, n_clicks=0, style=ui.BUTTON)]), html.Div(id=ID.CREATE_MSG)], manage),
        _section("账户操作（系统管理员）", [html.Div(style=ui.ROW, children=[
            html.Button("启用", id=ID.ENABLE, n_clicks=0, style=ui.BUTTON_LIGHT),
            html.Button("停用", id=ID.DISABLE, n_clicks=0, style=ui.BUTTON_LIGHT),
            html.Button("解锁", id=ID.UNLOCK, n_clicks=0, style=ui.BUTTON_LIGHT),
            html.Button("重置密码", id=ID.RESET, n_clicks=0, style=ui.BUTTON_LIGHT)]), html.Div(id=ID.ACTION_MSG)],
            manage),
        _section("角色与数据范围（安全管理员）", [html.Div(style=ui.ROW, children=[
            dcc.Dropdown(id=ID.ROLES, options=ROLE_OPTIONS, multi=True, placeholder="角色", style={"width": "22rem"}),
            dcc.Input(id=ID.SCOPE, placeholder="区划代码，逗号或空格分隔", style={**ui.INPUT, "width": "22rem"}),
            html.Button("保存", id=ID.SAVE_ROLES, n_clicks=0, style=ui.BUTTON)]), html.Div(id=ID.ROLES_MSG)], assign),
        _section("安全告警（安全管理员）：查看完整信息或查重过于频繁的账户", [_alerts(viewer) if assign else None], assign),
        _section("批准密码重置（安全管理员）", [html.Div(style=ui.ROW, children=[
            html.Button("批准重置并生成后半段密码", id=ID.APPROVE, n_clicks=0, style=ui.BUTTON_LIGHT)]),
            html.Div(id=ID.APPROVE_MSG)], assign),
    ])


def _alerts(viewer) -> html.Div:
    """The latest bursts of sensitive reads (`throttle`), newest first; reading them is audited."""
    try:
        with current_context().session() as s:
            rows = admin.security_alerts(s, viewer, limit=20)
    except AccessDenied as exc:
        return _error(exc)
    if not rows:
        return html.Div("暂无告警", style=ui.LABEL)
    return html.Ul([html.Li(f"{_cell(r['at'])}（UTC） {r['account']}：{r['label']}") for r in rows])


def _error(message) -> html.Span:
    return html.Span(str(message), style=ui.ERROR)


def _cell(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        return "、".join(map(str, value))
    return "" if value is None else value


def _codes(text) -> list[str]:
    return [c for c in (text or "").replace("，", ",").replace(",", " ").split() if c]


@callback(Output(ID.GRID, "rowData"), Output(ID.LIST_MSG, "children"), Input(ID.REFRESH, "n_clicks"),
          Input(ID.CHANGED, "data"))
def list_accounts(_n, _changed):
    try:
        with current_context().session() as s:
            rows = admin.list_accounts(s, viewers.current_viewer())
    except AccessDenied as exc:
        return [], _error(exc)
    return [{k: _cell(v) for k, v in r.items()} for r in rows], f"共 {len(rows)} 个账户"


@callback(Output(ID.TARGET, "value"), Output(ID.ROLES, "value"), Output(ID.SCOPE, "value"),
          Input(ID.GRID, "selectedRows"), prevent_initial_call=True)
def select(rows):
    if not rows:
        raise dash.exceptions.PreventUpdate
    row = rows[0]
    split = lambda v: [x for x in str(v or "").split("、") if x]  # noqa: E731
    return row.get("username", ""), split(row.get("roles")), " ".join(split(row.get("scope")))


@callback(Output(ID.CREATE_MSG, "children"), Output(ID.CHANGED, "data", allow_duplicate=True),
          Input(ID.CREATE, "n_clicks"), State(ID.NEW_USER, "value"), State(ID.NEW_NAME, "value"),
          State(ID.CHANGED, "data"), prevent_initial_call=True)
def create(_n, username, display_name, changed):
    username = (username or "").strip()
    try:
        otp = admin.create_account(current_context().sessions, viewers.current_viewer(), username,
                                   (display_name or "").strip())
    except (admin.AdminError, AccessDenied) as exc:
        return _error(exc), dash.no_update
    return html.Div([html.B(f"已新建账户 {username}。"), " 一次性密码：", html.Code(otp, id="acc-otp"),
                     html.Div("只显示这一次，请当面交给本人；首次登录须修改密码。新账户没有角色和数据范围，"
                              "须由安全管理员授予。", style=ui.LABEL)]), (changed or 0) + 1


ACTIONS = {ID.ENABLE: "启用", ID.DISABLE: "停用", ID.UNLOCK: "解锁", ID.RESET: "重置密码"}


@callback(Output(ID.ACTION_MSG, "children"), Output(ID.CHANGED, "data", allow_duplicate=True),
          Input(ID.ENABLE, "n_clicks"), Input(ID.DISABLE, "n_clicks"), Input(ID.UNLOCK, "n_clicks"),
          Input(ID.RESET, "n_clicks"), State(ID.TARGET, "value"), State(ID.CHANGED, "data"),
          prevent_initial_call=True)
def account_action(_e, _d, _u, _r, username, changed):
    which, username = ctx.triggered_id, (username or "").strip()
    if which not in ACTIONS:
        raise dash.exceptions.PreventUpdate
    if not username:
        return _error("请先选择或输入账户"), dash.no_update
    factory, viewer = current_context().sessions, viewers.current_viewer()
    try:
        if which == ID.RESET:
            half = admin.reset_password(factory, viewer, username)
            return html.Div([html.B(f"已申请重置 {username} 的密码。"), " 前半段一次性密码：", html.Code(half),
                             html.Span("（只显示这一次，请交给本人；须经安全管理员批准并由其把后半段交给本人，"
                                       "本人用“前半段+后半段”登录后须立即修改）", style=ui.LABEL)]), (changed or 0) + 1
        if which == ID.UNLOCK:
            admin.unlock(factory, viewer, username)
        else:
            admin.set_enabled(factory, viewer, username, which == ID.ENABLE)
    except (admin.AdminError, AccessDenied) as exc:
        return _error(exc), dash.no_update
    return f"已{ACTIONS[which]}账户 {username}", (changed or 0) + 1


@callback(Output(ID.ROLES_MSG, "children"), Output(ID.CHANGED, "data", allow_duplicate=True),
          Input(ID.SAVE_ROLES, "n_clicks"), State(ID.TARGET, "value"), State(ID.ROLES, "value"),
          State(ID.SCOPE, "value"), State(ID.CHANGED, "data"), prevent_initial_call=True)
def save_roles(_n, username, roles, scope, changed):
    username = (username or "").strip()
    if not username:
        return _error("请先选择或输入账户"), dash.no_update
    try:
        admin.set_roles_and_scope(current_context().sessions, viewers.current_viewer(), username, roles or [],
                                  _codes(scope))
    except (admin.AdminError, AccessDenied) as exc:
        return _error(exc), dash.no_update
    return f"已更新 {username} 的角色和数据范围（该账户须重新登录）", (changed or 0) + 1


@callback(Output(ID.APPROVE_MSG, "children"), Input(ID.APPROVE, "n_clicks"), State(ID.TARGET, "value"),
          prevent_initial_call=True)
def approve_reset(_n, username):
    username = (username or "").strip()
    if not username:
        return _error("请先选择或输入账户")
    try:
        half = admin.approve_password_reset(current_context().sessions, viewers.current_viewer(), username)
    except (admin.AdminError, AccessDenied) as exc:
        return _error(exc)
    return html.Div([html.B(f"已批准重置 {username} 的密码。"), " 后半段一次性密码：", html.Code(half),
                     html.Span("（只显示这一次，请交给本人；登录时输入前半段+后半段，随后须修改）", style=ui.LABEL)])
