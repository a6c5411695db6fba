"""Permission names: the one source of truth shared by the security layer and the console.

The console imports these constants (``from console.security.permissions import LAYER_SPECIAL``);
never spell a permission as a string literal elsewhere.
"""

from __future__ import annotations

LAYER_AREAS = "layer:areas"  # administrative areas (no personal data)
LAYER_GRIDS = "layer:grids"  # grid boundaries
VIEW_KPI = "view:kpi"  # the KPI panel of an area
VIEW_PERSONS = "view:persons"  # the grid-level table of households and persons (masked)
VIEW_CASES = "view:cases"  # dispute details
VIEW_ALERTS = "view:alerts"  # duty alerts: feed, details, handover (persons, workers)
LAYER_POPULATION = "layer:population"  # 实有人口 layer, household/person tables
LAYER_SPECIAL = "layer:special"  # 特殊人群 layer and records (sensitive personal information)
LAYER_DISPUTES = "layer:disputes"  # 矛盾纠纷
LAYER_CAMERAS = "layer:cameras"  # 公共安全视频
LAYER_ORGS = "layer:orgs"  # 社会组织 / 非公有制企业
WALL_DISPLAY = "display:wall"  # the command-hall screen: aggregate figures and layers, never a record
VIEW_VIDEO = "view:video"  # play camera pictures (每次播放留痕, docs/video.md)
VIDEO_PTZ = "video:ptz"  # turn and zoom a dome camera (云台控制, every command audited, docs/video.md)
UNMASK = "unmask"  # see a full identity number / phone / address (each view audited)
EXPORT = "export"  # download tables (watermarked, audited)
GRID_EDIT = "grid:edit"  # redraw grids
ALERT_ACT = "alert:act"  # acknowledge / dispatch / close alerts
DISPUTE_REGISTER = "dispute:register"
DISPUTE_ROUTE = "dispute:route"
ACCOUNT_MANAGE = "account:manage"  # 系统管理员: create / disable / unlock accounts
ROLE_ASSIGN = "role:assign"  # 安全管理员: roles and area scopes
AUDIT_READ = "audit:read"  # 审计管理员: search / export / verify the audit log
CONFIG_MANAGE = "config:manage"  # 系统管理员: security and system settings
FIELD_SYNC = "field:sync"  # 网格员 phone app: send records and photos for the own grids (docs/field.md)
FIELD_REVIEW = "field:review"  # see and settle the phone app's sync conflicts in the scope
IMPORT_LEDGERS = "import:ledgers"  # 台账导入: a county's own ledgers into the store (docs/import.md)
VIEW_ASSESSMENT = "view:assessment"  # 督导考评: scores and ranks of areas and grid workers (docs/assessment.md)
LAYER_SAFETY = "layer:safety"  # 公共安全: key places and 护路护线 lines (docs/safety.md)
LAYER_INCIDENTS = "layer:incidents"  # active incidents on the map: level and place, no person (docs/safety.md)
INCIDENT_COMMAND = "incident:command"  # raise an alert to an incident, log its actions, close it (值班员)

ALL_PERMISSIONS: tuple[str, ...] = (
    LAYER_AREAS, LAYER_GRIDS, VIEW_KPI, VIEW_PERSONS, VIEW_CASES, VIEW_ALERTS, LAYER_POPULATION, LAYER_SPECIAL, LAYER_DISPUTES, LAYER_CAMERAS, LAYER_ORGS, VIEW_VIDEO, UNMASK, EXPORT,
    GRID_EDIT, ALERT_ACT, DISPUTE_REGISTER, DISPUTE_ROUTE, ACCOUNT_MANAGE, ROLE_ASSIGN, AUDIT_READ,
    CONFIG_MANAGE, WALL_DISPLAY, FIELD_SYNC, FIELD_REVIEW, IMPORT_LEDGERS, VIEW_ASSESSMENT,
    LAYER_SAFETY, LAYER_INCIDENTS, INCIDENT_COMMAND, VIDEO_PTZ,
)

ALL = frozenset(ALL_PERMISSIONS)  # the console's name for the set

LAYER_PERMISSIONS = {
    "areas": LAYER_AREAS,
    "grids": LAYER_GRIDS,
    "population": LAYER_POPULATION,
    "special": LAYER_SPECIAL,
    "disputes": LAYER_DISPUTES,
    "cameras": LAYER_CAMERAS,
    "coverage": LAYER_CAMERAS,  # 监控覆盖缺口: counts of households, no personal data
    "orgs": LAYER_ORGS,
    "keyplaces": LAYER_SAFETY,
    "safetylines": LAYER_SAFETY,
    "incidents": LAYER_INCIDENTS,
}

# Permissions whose every *granted* use is written to the audit log (refusals are always audited).
AUDITED_WHEN_GRANTED = frozenset({UNMASK, EXPORT, GRID_EDIT, ALERT_ACT, DISPUTE_REGISTER, DISPUTE_ROUTE,
                                  ACCOUNT_MANAGE, ROLE_ASSIGN, AUDIT_READ, CONFIG_MANAGE,
                                  FIELD_REVIEW, IMPORT_LEDGERS, INCIDENT_COMMAND})

# The 三员 duties: each belongs to exactly one administrator role and to no business role.
ADMIN_PERMISSIONS = frozenset({ACCOUNT_MANAGE, CONFIG_MANAGE, ROLE_ASSIGN, AUDIT_READ})

LABELS = {
    LAYER_AREAS: "查看行政区划", LAYER_GRIDS: "查看网格", VIEW_KPI: "查看统计指标", VIEW_PERSONS: "查看人员列表",
    VIEW_CASES: "查看案件详情", VIEW_ALERTS: "查看值班预警",
    LAYER_POPULATION: "查看实有人口", LAYER_SPECIAL: "查看特殊人群", LAYER_DISPUTES: "查看矛盾纠纷",
    LAYER_CAMERAS: "查看视频监控", VIEW_VIDEO: "调阅实时视频", LAYER_ORGS: "查看社会组织/企业", UNMASK: "查看完整身份信息",
    EXPORT: "导出数据", GRID_EDIT: "编辑网格", ALERT_ACT: "处置预警", DISPUTE_REGISTER: "登记纠纷",
    DISPUTE_ROUTE: "分流交办纠纷", IMPORT_LEDGERS: "导入台账", ACCOUNT_MANAGE: "管理账户", ROLE_ASSIGN: "分配角色与范围",
    AUDIT_READ: "查阅审计日志", CONFIG_MANAGE: "管理系统配置", WALL_DISPLAY: "大屏展示（不看记录）",
    FIELD_SYNC: "移动端采集上报", FIELD_REVIEW: "处理移动端同步冲突", VIEW_ASSESSMENT: "查看督导考评",
    LAYER_SAFETY: "查看重点场所与护路护线", LAYER_INCIDENTS: "查看突发事件图层", INCIDENT_COMMAND: "启动/结束突发事件响应",
    VIDEO_PTZ: "云台控制（球机转动、变焦）",
}
