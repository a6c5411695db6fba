"""Which pages the viewer may open: the navigation shows only those (docs/security.md: no admin links for everyone).

Each page lists the permissions of which any one opens it. The pages and every callback behind them still
check on the server; this table only decides which links are drawn.
"""

from __future__ import annotations

from console.security.guard import Viewer
from console.security.permissions import (
    ACCOUNT_MANAGE, ALERT_ACT, AUDIT_READ, DISPUTE_REGISTER, GRID_EDIT, LAYER_AREAS, ROLE_ASSIGN, VIEW_CASES,
    VIEW_KPI,
)

NAV_PAGES: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/", "总览", frozenset({LAYER_AREAS, VIEW_KPI})),
    ("/planner", "网格规划", frozenset({GRID_EDIT})),
    ("/duty", "值班", frozenset({ALERT_ACT})),
    ("/disputes", "矛盾纠纷", frozenset({VIEW_CASES, DISPUTE_REGISTER})),
    ("/admin/accounts", "账户", frozenset({ACCOUNT_MANAGE, ROLE_ASSIGN})),
    ("/admin/audit", "审计", frozenset({AUDIT_READ})),
)


def visible_pages(viewer: Viewer) -> list[tuple[str, str]]:
    """(href, label) of the pages this viewer may open, in menu order."""
    return [(href, label) for href, label, perms in NAV_PAGES if perms & viewer.permissions]
