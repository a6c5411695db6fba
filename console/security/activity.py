"""Which requests count as user activity for the idle timeout (docs/security.md: idle timeout 30 minutes).

Background polling — the duty feed's self-paced fetch, any `dcc.Interval`-driven Dash callback — must
not keep an unattended session alive: such requests are still authenticated and still end an idle
session, but they do not move its last-seen time. Only user-initiated requests do.
Pure functions: the gate (`web.install`) passes the path, headers and parsed Dash body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

BACKGROUND_HEADER = "X-Pingan-Background"  # set by our own pollers (assets/pingan_duty.js)
BACKGROUND_PATHS = ("/api/alerts/changes",)  # known pollers, whatever the client sends
INTERVAL_PROPS = (".n_intervals", ".max_intervals")


def dash_triggers(body: Mapping | None) -> list[str]:
    if not isinstance(body, Mapping):
        return []
    changed = body.get("changedPropIds") or []
    return [c for c in changed if isinstance(c, str)]


def is_background(path: str, headers: Mapping[str, str], dash_body: Mapping | None = None,
                  background_paths: Iterable[str] = BACKGROUND_PATHS) -> bool:
    """True when the request is polling rather than a user's action."""
    if path in tuple(background_paths):
        return True
    if headers.get(BACKGROUND_HEADER, "") == "1":
        return True
    if path == "/_dash-update-component":
        triggers = dash_triggers(dash_body)
        return bool(triggers) and all(t.endswith(INTERVAL_PROPS) for t in triggers)
    return False
