"""The one enforcement point: who is asking (`Viewer`), may they (`require`, `require_area`).

Every refusal raises `AccessDenied` and is written to the audit log; granted uses of sensitive
permissions (`permissions.AUDITED_WHEN_GRANTED`) and views of sensitive records are audited too.
No Flask or Dash here: `console.security.web.current_viewer()` builds the Viewer for a request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console.store.scope import AreaScope

from .permissions import AUDITED_WHEN_GRANTED
from .roles import ROLE_LABELS, permissions_for

log = logging.getLogger(__name__)

GRANTED = "granted"
REFUSED = "refused"
DENIED_MESSAGE = "无权限执行此操作。"


class AccessDenied(PermissionError):
    """Refused (and already audited). `str()` is a non-revealing Chinese message for the user."""

    def __init__(self, message: str = DENIED_MESSAGE, *, permission: str = "", object: str = ""):
        super().__init__(message)
        self.permission = permission
        self.object = object


@dataclass(frozen=True)
class Viewer:
    username: str
    display_name: str
    roles: frozenset[str]
    permissions: frozenset[str]
    scope: AreaScope
    account_id: int | None = None
    ip: str = ""
    auditor: Any = field(default=None, compare=False, repr=False)  # audit.Auditor

    @classmethod
    def build(cls, username: str, roles: Iterable[str], scope_codes: Iterable[str], *, display_name: str = "",
              account_id: int | None = None, ip: str = "", auditor=None) -> Viewer:
        roles = frozenset(roles)
        return cls(username, display_name or username, roles, permissions_for(roles),
                   AreaScope.of(scope_codes), account_id, ip, auditor)

    @classmethod
    def anonymous(cls, ip: str = "", auditor=None) -> Viewer:
        return cls("(anonymous)", "未登录", frozenset(), frozenset(), AreaScope(frozenset()), None, ip, auditor)

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS.get(r, r) for r in sorted(self.roles)]

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def cache_key(self) -> tuple:
        """What a cached, viewer-dependent result may be shared by: same scope, same permissions."""
        return (tuple(sorted(self.scope.codes)), tuple(sorted(self.permissions)))

    def sees(self, code: str | None) -> bool:
        return self.scope.allows(code)


_default_auditor: list[Any] = [None]


def set_default_auditor(auditor) -> None:
    """Used when a Viewer was built without one (web.install sets it)."""
    _default_auditor[0] = auditor


def default_auditor():
    """The audit sink of viewers built without one (None before `web.install`)."""
    return _default_auditor[0]


def audit(viewer: Viewer, action: str, obj: str = "", result: str = GRANTED, detail: dict | None = None,
          session=None) -> None:
    """Write one audit row for this viewer. `session`: append inside the caller's transaction."""
    auditor = viewer.auditor or _default_auditor[0]
    if auditor is None:
        log.error("AUDIT SINK MISSING: %s %s %s %s", viewer.username, action, obj, result)
        raise RuntimeError("审计日志不可用，操作已中止")
    auditor.record(viewer.username, action, object=obj, result=result, detail=detail, ip=viewer.ip,
                   roles=viewer.roles, session=session)


def _refuse(viewer: Viewer, permission: str, obj: str, reason: str, detail: dict | None) -> AccessDenied:
    audit(viewer, "access.denied", obj or permission, REFUSED,
          {"permission": permission, "reason": reason, **(detail or {})})
    return AccessDenied(permission=permission, object=obj)


def refuse(viewer: Viewer, obj: str, reason: str, detail: dict | None = None) -> AccessDenied:
    """An audited refusal for a caller that decided itself (e.g. an unknown record answered like a hidden one)."""
    return _refuse(viewer, "record", obj, reason, detail)


def require(viewer: Viewer, permission: str, obj: str = "", *, detail: dict | None = None, session=None,
            log_grant: bool = True) -> None:
    """Raise AccessDenied (audited) unless the viewer holds the permission.

    A granted sensitive permission is audited as ``use:<permission>``; pass ``log_grant=False`` only when
    the caller writes its own, more specific audit row for the same action.
    """
    if permission not in viewer.permissions:
        raise _refuse(viewer, permission, obj, "permission", detail)
    if log_grant and permission in AUDITED_WHEN_GRANTED:
        audit(viewer, f"use:{permission}", obj, GRANTED, detail, session=session)


def require_area(viewer: Viewer, code: str | None, obj: str = "", *, detail: dict | None = None) -> None:
    """Raise AccessDenied (audited) unless the area code (of an area or a record) is in the viewer's scope."""
    if not viewer.scope.allows(code):
        raise _refuse(viewer, "area", obj or f"area:{code}", "scope", {"area": code, **(detail or {})})


def require_record(viewer: Viewer, permission: str, code: str | None, obj: str, *, sensitive: bool = True,
                   detail: dict | None = None) -> None:
    """Permission + scope for one record; a granted view of a sensitive record is audited."""
    if permission not in viewer.permissions:
        raise _refuse(viewer, permission, obj, "permission", detail)
    require_area(viewer, code, obj, detail=detail)
    if sensitive:
        audit(viewer, "record.view", obj, GRANTED, {"permission": permission, "area": code, **(detail or {})})


def require_need(viewer: Viewer, need, obj: str = "") -> None:
    """A `registry.Need` (all of `all_of`, one of `any_of`); refusals audited like `require`."""
    if not need.allows(viewer.permissions):
        missing = sorted(need.all_of - viewer.permissions) or sorted(need.any_of)
        raise _refuse(viewer, "|".join(missing), obj, "permission", {"need": need.label})


def require_any(viewer: Viewer, permissions: Iterable[str], obj: str = "") -> None:
    permissions = tuple(permissions)
    if not any(p in viewer.permissions for p in permissions):
        raise _refuse(viewer, "|".join(permissions), obj, "permission", None)


def scope_clause(viewer: Viewer, model):
    """The SQL filter every located query must carry (empty scope → matches nothing)."""
    return viewer.scope.clause(model)
