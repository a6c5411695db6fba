"""Which pages the viewer may open: the navigation shows only those (docs/security.md: no admin links for everyone).

Each page lists the permissions of which any one opens it. The pages and every callback behind them still
check on the server; this table only decides which links are drawn.
"""

from __future__ import annotations

from console.security.guard import Viewer
from console.security.registry import NAV_PATHS, PAGES

# (href, label, permissions of which any one draws the link): from the one permission table
NAV_PAGES: tuple[tuple[str, str, frozenset[str]], ...] = tuple(
    (path, PAGES[path][0], PAGES[path][1].any_of | PAGES[path][1].all_of) for path in NAV_PATHS)


def visible_pages(viewer: Viewer) -> list[tuple[str, str]]:
    """(href, label) of the pages this viewer may open, in menu order."""
    return [(href, label) for href in NAV_PATHS for label, need in [PAGES[href]] if need.allows(viewer.permissions)]
