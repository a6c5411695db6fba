"""Who is looking. Every viewer-dependent read asks `current_viewer()` and passes `viewer.scope` on.

`current_viewer()` is the account logged in to this request (docs/security.md: `console.security.web.current_viewer`),
or an anonymous viewer with no permissions and an empty scope outside a logged-in request. The security
gate installed by `console.app.create_app` refuses anonymous requests before any page, callback or route runs.

`Viewer` is the security layer's viewer: username, display_name, roles, permissions, scope (AreaScope),
can(), sees(), cache_key — plus account_id, ip and the auditor that `guard.audit` writes through.
"""

from __future__ import annotations

from console.security.guard import Viewer  # noqa: F401 - the console's Viewer is the security layer's


def current_viewer() -> Viewer:
    from console.security.web import current_viewer as secure_viewer

    return secure_viewer()

