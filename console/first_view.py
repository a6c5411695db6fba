"""The overview's layout inside the first /_dash-layout answer, instead of one more round trip.

Dash pages normally send an empty page container; dcc.Location then reports the address and a routing
callback sends the page. For the command hall's first view (path "/") this module fills the container
with the overview's layout at once, and gives dcc.Location the current address so that it reports no
change (the routing callback does not run, nothing is drawn twice). Only "/" is filled: every other
page keeps Dash's routing, including the gate's per-path permission checks. The address comes from the
Referer of the layout request (same-origin only; without it, Dash's normal routing runs).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import dash
from dash import dcc, html
from flask import has_request_context, request

# Dash's own ids for the pages container (dash/dash.py: _ID_LOCATION, _ID_CONTENT, _ID_STORE, _ID_DUMMY).
LOCATION, CONTENT, STORE, DUMMY = "_pages_location", "_pages_content", "_pages_store", "_pages_dummy"
FILLED_PATHS = ("/",)


def page_address() -> tuple[str, str, str] | None:
    """(href, path, search) of the page that asked for its layout, when it is this app's and filled here."""
    if not has_request_context():
        return None
    ref = request.headers.get("Referer") or ""
    parts = urlsplit(ref)
    if not ref or f"{parts.scheme}://{parts.netloc}" != request.host_url.rstrip("/") or parts.fragment:
        return None
    prefix = request.script_root or ""
    path = parts.path[len(prefix):] if prefix and parts.path.startswith(prefix) else parts.path
    if path not in FILLED_PATHS:
        return None
    return ref, parts.path, f"?{parts.query}" if parts.query else ""


def page_container() -> html.Div:
    """Dash's page container; for the overview already holding its layout (see the module docstring)."""
    address = page_address()
    page = next((p for p in dash.page_registry.values() if p["path"] == "/"), None) if address else None
    if page is None:
        return dash.page_container
    href, path, search = address
    query = {k: v[0] for k, v in parse_qs(search.lstrip("?")).items()}
    layout = page["layout"](**query) if callable(page["layout"]) else page["layout"]
    return html.Div([
        dcc.Location(id=LOCATION, refresh="callback-nav", href=href, pathname=path, search=search, hash=""),
        html.Div(layout, id=CONTENT, disable_n_clicks=True),
        dcc.Store(id=STORE, data={"title": page["title"]}),
        html.Div(id=DUMMY, disable_n_clicks=True),
    ])
