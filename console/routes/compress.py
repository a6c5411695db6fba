"""gzip for everything the console sends: Dash's bundles and assets (served as files, which Flask does not
compress), callback JSON and HTML. No extra dependency.

Files (assets, Dash's component bundles) are compressed once at level 9 and kept, keyed by their content, so
the same bytes under another URL or fingerprint are not compressed again. `prewarm` fills that cache at
start-up with the first view's files and the ones loaded on demand, so the first visitor does not wait for it.
Fingerprinted assets (`/assets/…?m=<mtime>`) are cached by the browser instead of revalidated on every view.
"""

from __future__ import annotations

import gzip
import logging
import re
import sys
import threading
from pathlib import Path

from flask import Flask, request

COMPRESSIBLE = ("application/javascript", "text/javascript", "text/css", "application/json", "text/html",
                "image/svg+xml", "application/geo+json")
MIN_SIZE = 1024
MAX_CACHED = 256
SUITES = "/_dash-component-suites/"
_static: dict[tuple, bytes] = {}
_lock = threading.Lock()
log = logging.getLogger(__name__)


def _is_file(response) -> bool:
    """A response that is a file: the same URL and version always gives the same bytes."""
    if request.method != "GET":
        return False
    return bool(response.headers.get("ETag") or response.headers.get("Last-Modified")
                or request.path.startswith(SUITES))


def _content_key(raw: bytes) -> tuple:
    return (len(raw), hash(raw))


def compressed(raw: bytes) -> bytes:
    """The level-9 gzip of a file's bytes, from the cache when these bytes were compressed before."""
    key = _content_key(raw)
    body = _static.get(key)
    if body is None:
        body = gzip.compress(raw, 9)
        with _lock:
            if len(_static) >= MAX_CACHED:
                _static.clear()
            _static[key] = body
    return body


def gzip_response(response):
    if (response.status_code != 200 or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.headers.get("Content-Encoding") or response.mimetype not in COMPRESSIBLE):
        return response
    is_file = _is_file(response)
    response.direct_passthrough = False
    raw = response.get_data()
    if len(raw) < MIN_SIZE:
        return response
    body = compressed(raw) if is_file else gzip.compress(raw, 5)
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    response.headers.add("Vary", "Accept-Encoding")
    return response


def cache_fingerprinted(response):
    """Assets addressed with Dash's `?m=<mtime>` fingerprint never change under that URL: let the browser keep
    them (private: they are behind the login) instead of asking again on every view (the favicon was
    re-requested on each drill step)."""
    if (request.method == "GET" and response.status_code in (200, 304) and request.path.startswith("/assets/")
            and request.args.get("m")):
        response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


def _file_of(url: str, assets: Path) -> Path | None:
    """The file behind a script/stylesheet URL of the index page (component suite or asset)."""
    from dash.fingerprint import check_fingerprint

    path = url.split("?", 1)[0]
    if path.startswith(SUITES):
        namespace, _, rest = path[len(SUITES):].partition("/")
        module = sys.modules.get(namespace)
        if module is None or not getattr(module, "__file__", None):
            return None
        return Path(module.__file__).parent / check_fingerprint(rest)[0]
    if path.startswith("/assets/"):
        return assets / path[len("/assets/"):]
    return None


def first_view_files(app, on_demand: tuple[str, ...] = ()) -> list[Path]:
    """The files of the index page's <script>/<link> tags, plus `on_demand` URLs (lazily loaded bundles)."""
    with app.server.test_request_context("/"):
        html = app._generate_css_dist_html() + app._generate_scripts_html()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + list(on_demand)
    files = [_file_of(u, Path(app.config.assets_folder)) for u in urls]
    return [f for f in dict.fromkeys(files) if f is not None and f.suffix in (".js", ".css") and f.is_file()]


def prewarm(files: list[Path]) -> int:
    """Compress these files into the cache (run in a background thread at start-up). Returns how many."""
    n = 0
    for f in files:
        try:
            raw = f.read_bytes()
        except OSError:
            continue
        if len(raw) >= MIN_SIZE:
            compressed(raw)
            n += 1
    return n


def install(server: Flask) -> None:
    server.after_request(gzip_response)
    server.after_request(cache_fingerprinted)
