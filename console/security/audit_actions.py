"""The audit log's action keys in words: the one table the audit page, its filter and its exports read.

Every action the code writes (`audit.append`, `guard.audit`, the gate's refusals…) has a label here;
tests/test_audit_actions.py reads the source for every action written and fails on one without a label. A key
that is not here (a row written by an older version) is shown as it is."""

from __future__ import annotations

from console.store.codes import INCIDENT_ACTIONS

from .guard import GRANTED, REFUSED
from .permissions import AUDITED_WHEN_GRANTED, LABELS as PERMISSION_LABELS
from .roles import ROLE_LABELS

# Grouped by prefix, in the order the filter lists them.
ACTION_LABELS: dict[str, str] = {
    # sign-in and sessions
    "login.success": "登录成功", "login.password_ok": "密码验证通过（待动态口令）", "login.failure": "登录失败",
    "login.rate_limited": "登录过于频繁被拒", "account.lock": "账户被锁定", "totp.enroll": "绑定动态口令",
    "password.change": "修改密码", "logout": "退出登录", "session.end": "会话结束", "session.invalid": "会话无效",
    # the gate's refusals
    "access.denied": "拒绝访问", "access.undeclared": "拒绝未登记的访问", "csrf.refused": "拒绝跨站请求",
    "callback.unknown": "拒绝未知回调", "request.too_large": "拒绝过大的请求", "api.auth": "接口密钥无效",
    "api.rate_limited": "接口调用过于频繁被拒", "security.alert": "安全告警",
    # accounts, roles, settings (三员)
    "account.create": "新建账户", "account.enable": "启用账户", "account.disable": "停用账户",
    "account.unlock": "解锁账户", "account.reset_password": "重置密码", "account.reset_approve": "批准密码重置",
    "role.assign": "分配角色与范围", "config.set": "修改系统配置", "config.change": "修改考评配置",
    "api_key.issue": "签发接口密钥", "api_key.revoke": "吊销接口密钥", "security.alerts_read": "查看安全告警",
    "bootstrap": "初始化管理员账户", "bootstrap.reset": "重置初始管理员", "demo.account": "创建演示账户",
    # the audit log itself
    "audit.search": "查询审计日志", "audit.export": "导出审计日志", "audit.verify": "校验审计链",
    "audit.archive": "归档审计日志",
    # reading records
    "record.view": "查看记录详情", "record.read": "查阅记录列表", "record.search": "搜索记录",
    "unmask": "查看完整身份信息", "unmask.export": "导出完整身份信息", "export": "导出数据",
    "open311.read": "接口读取纠纷",
    # work on records
    "ledger_import": "导入台账", "import_template": "保存导入模板", "followup_visit": "登记走访",
    "field.conflict.resolve": "处理移动端同步冲突", "grid.commit": "提交网格调整", "grid.export": "导出网格",
    "dispute.register": "登记纠纷", "dispute.duplicate_check": "纠纷查重", "dispute.import": "导入纠纷台账",
    "dispute.accept": "纠纷受理", "dispute.assign": "纠纷分流交办", "dispute.start": "纠纷开始调处",
    "dispute.resolve": "纠纷化解成功", "dispute.fail": "纠纷化解不成功", "dispute.escalate": "纠纷提级会商",
    "dispute.remediate": "纠纷重新调处", "dispute.refer": "纠纷转诉讼/信访", "dispute.feedback": "纠纷结果反馈",
    "dispute.revisit": "纠纷回访", "dispute.archive": "纠纷归档",
    **{f"incident.{kind}": f"突发事件{label}" for kind, label in INCIDENT_ACTIONS.items()},
    "video.play": "调阅视频", "video.playback": "视频回放", "video.ptz": "云台控制",
    # granted uses of sensitive permissions (guard.require)
    **{f"use:{p}": f"使用权限：{PERMISSION_LABELS[p]}" for p in sorted(AUDITED_WHEN_GRANTED)},
}

# Prefixes the filter offers as one choice (the search matches actions by prefix).
GROUP_LABELS: dict[str, str] = {
    "login.": "登录（全部）", "account.": "账户管理（全部）", "access.": "拒绝访问（全部）", "audit.": "审计日志（全部）",
    "record.": "查阅记录（全部）", "dispute.": "纠纷办理（全部）", "incident.": "突发事件（全部）",
    "video.": "视频（全部）", "use:": "使用敏感权限（全部）",
}


def action_label(action: str | None) -> str:
    """The action in words; an unknown key as it is."""
    return ACTION_LABELS.get(action or "", action or "")


RESULT_LABELS = {GRANTED: "允许", REFUSED: "拒绝"}
SHOWN_IN_WORDS = ("roles", "action", "result")  # the audit log's columns that hold keys


def cell_text(column: str, value):
    """A cell of the audit log as a person reads it (the page, CSV and Excel): keys in words."""
    if column == "action":
        return action_label(value)
    if column == "result":
        return RESULT_LABELS.get(value, value)
    if column == "roles":
        return "、".join(ROLE_LABELS.get(r, r) for r in (value or "").split(",") if r)
    return value


def filter_options() -> list[dict]:
    """The action filter's choices: the groups first, then every action in the table's order."""
    groups = [{"label": label, "value": prefix} for prefix, label in GROUP_LABELS.items()]
    return groups + [{"label": label, "value": key} for key, label in ACTION_LABELS.items()]
