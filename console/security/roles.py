"""Roles → permissions: the one table. Stored role values are the ASCII keys; the UI shows labels.

三员分立: the three administrator roles hold disjoint duties, none holds a business permission, an
account holds at most one of them and never together with a business role (`check_role_set`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .permissions import (
    LAYER_AREAS, LAYER_GRIDS, VIEW_ALERTS, VIEW_CASES, VIEW_KPI, VIEW_PERSONS,
    ACCOUNT_MANAGE, ADMIN_PERMISSIONS, ALERT_ACT, AUDIT_READ, CONFIG_MANAGE, DISPUTE_REGISTER, IMPORT_LEDGERS,
    DISPUTE_ROUTE, EXPORT, GRID_EDIT, LAYER_CAMERAS, LAYER_DISPUTES, LAYER_ORGS, LAYER_POPULATION,
    LAYER_SPECIAL, ROLE_ASSIGN, UNMASK, WALL_DISPLAY, FIELD_REVIEW, FIELD_SYNC, VIEW_VIDEO, VIDEO_PTZ, VIEW_ASSESSMENT,
    LAYER_SAFETY, LAYER_INCIDENTS, INCIDENT_COMMAND,
)


SOURCE_ROLE = "intake_source"  # the only kind of account an API key may belong to (never a person)
WALL_ROLE = "wall_display"  # the command-hall screen: never idles out, sees no record (docs/security.md §2)


@dataclass(frozen=True)
class Role:
    key: str
    label: str
    permissions: frozenset[str]
    admin: bool = False  # one of the 三员
    description: str = ""


def _role(key, label, perms, admin=False, description=""):
    return Role(key, label, frozenset(perms), admin, description)


_LAYERS = (LAYER_POPULATION, LAYER_SPECIAL, LAYER_DISPUTES, LAYER_CAMERAS, LAYER_ORGS, LAYER_SAFETY, LAYER_INCIDENTS)
_MAP = (LAYER_AREAS, LAYER_GRIDS, VIEW_KPI)  # every business role navigates the map and sees its area's KPIs

ROLES: dict[str, Role] = {r.key: r for r in (
    _role("grid_worker", "网格员", (*_MAP, LAYER_POPULATION, LAYER_SPECIAL, LAYER_DISPUTES, LAYER_ORGS, VIEW_PERSONS,
                                     VIEW_CASES, UNMASK, DISPUTE_REGISTER, FIELD_SYNC),
          description="本网格入户走访、核实身份、登记纠纷"),
    _role("village", "村社区", (*_MAP, *_LAYERS, VIEW_PERSONS, VIEW_CASES, UNMASK, EXPORT, DISPUTE_REGISTER, ALERT_ACT,
                                VIEW_ALERTS, FIELD_REVIEW, VIEW_ASSESSMENT), description="本村社区综治工作"),
    _role("town", "镇办", (*_MAP, *_LAYERS, VIEW_PERSONS, VIEW_CASES, UNMASK, EXPORT, DISPUTE_REGISTER, DISPUTE_ROUTE,
                          ALERT_ACT, VIEW_ALERTS, FIELD_REVIEW, VIEW_ASSESSMENT), description="本镇办综治中心"),
    _role("county", "县区", (*_MAP, *_LAYERS, VIEW_PERSONS, VIEW_CASES, EXPORT, DISPUTE_ROUTE, ALERT_ACT, VIEW_ALERTS,
                            IMPORT_LEDGERS, VIEW_ASSESSMENT),
          description="县区综治中心（人员信息脱敏显示）"),
    _role("city_leader", "市领导", (*_MAP, *_LAYERS, VIEW_CASES, EXPORT, VIEW_VIDEO, VIEW_ASSESSMENT), description="全市态势，仅汇总与脱敏信息"),
    _role("duty_officer", "值班员", (*_MAP, *_LAYERS, VIEW_PERSONS, VIEW_CASES, VIEW_ALERTS, ALERT_ACT, DISPUTE_REGISTER,
                                     VIEW_VIDEO, VIDEO_PTZ, INCIDENT_COMMAND), description="指挥大厅值班、处置预警、启动突发事件响应"),
    _role("grid_planner", "网格规划员", (*_MAP, LAYER_POPULATION, LAYER_ORGS, GRID_EDIT), description="网格划分与调整"),
    _role("dispute_handler", "纠纷调处员", (*_MAP, LAYER_DISPUTES, VIEW_CASES, UNMASK, DISPUTE_REGISTER, DISPUTE_ROUTE),
          description="矛盾纠纷受理、调处"),
    _role(SOURCE_ROLE, "接入系统", (DISPUTE_REGISTER, VIEW_CASES),
          description="12345 热线、网格通等外部系统的接口密钥账户：只能经接口登记和查询自己范围内的纠纷，不能登录"),
    _role(WALL_ROLE, "大屏展示", (*_MAP, LAYER_DISPUTES, LAYER_CAMERAS, LAYER_ORGS, LAYER_SAFETY,
                                 LAYER_INCIDENTS, WALL_DISPLAY),
          description="指挥大厅大屏：只看汇总数字和图层，不看任何记录、不能显示完整信息；会话不因空闲结束"),
    _role("system_admin", "系统管理员", (ACCOUNT_MANAGE, CONFIG_MANAGE), admin=True,
          description="账户与配置管理；不能查阅审计、不能分配权限"),
    _role("security_admin", "安全管理员", (ROLE_ASSIGN,), admin=True,
          description="分配角色与区域范围；不能管理账户、不能查阅审计"),
    _role("audit_admin", "审计管理员", (AUDIT_READ,), admin=True, description="只能查阅、导出、校验审计日志"),
)}

ADMIN_ROLES = frozenset(k for k, r in ROLES.items() if r.admin)
BUSINESS_ROLES = frozenset(k for k, r in ROLES.items() if not r.admin)
ROLE_LABELS = {k: r.label for k, r in ROLES.items()}


class RoleError(ValueError):
    """A role set that breaks the role rules (unknown role, or 三员 mixed)."""


def check_role_set(roles: Iterable[str]) -> frozenset[str]:
    roles = frozenset(roles)
    unknown = sorted(roles - ROLES.keys())
    if unknown:
        raise RoleError(f"未知角色: {', '.join(unknown)}")
    admin = roles & ADMIN_ROLES
    if len(admin) > 1:
        raise RoleError("三员分立：一个账户只能担任一种管理员角色")
    if admin and roles - admin:
        raise RoleError("三员分立：管理员账户不能同时担任业务角色")
    if SOURCE_ROLE in roles and len(roles) > 1:
        raise RoleError("接入系统账户不能同时担任其他角色")
    if WALL_ROLE in roles and len(roles) > 1:
        raise RoleError("大屏展示账户不能同时担任其他角色")
    return roles


def is_wall_account(roles: Iterable[str]) -> bool:
    """The hall screen's account: exempt from the idle timeout, nothing but aggregates and layers."""
    return frozenset(roles) == {WALL_ROLE}


def is_source_account(roles: Iterable[str]) -> bool:
    """An intake source's account: API keys only, no interactive login, never a person's rights."""
    return frozenset(roles) == {SOURCE_ROLE}


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    """Union of the roles' permissions; unknown roles give nothing (never an error at request time)."""
    perms: set[str] = set()
    for key in roles:
        role = ROLES.get(key)
        if role is not None:
            perms |= role.permissions
    return frozenset(perms)


def requires_totp(roles: Iterable[str]) -> bool:
    return bool(frozenset(roles) & ADMIN_ROLES)


# Sanity checks on the table itself (run at import: a bad edit fails every test at once).
for _r in ROLES.values():
    if _r.admin:
        assert len(_r.permissions) >= 1 and _r.permissions <= ADMIN_PERMISSIONS, _r.key
    else:
        assert not (_r.permissions & ADMIN_PERMISSIONS), _r.key
_admin_perm_owners = [p for r in ROLES.values() if r.admin for p in r.permissions]
assert len(_admin_perm_owners) == len(set(_admin_perm_owners)), "三员 duties overlap"
