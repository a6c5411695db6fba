"""gzip for everything the console sends: Dash's bundles and assets (served as files, which Flask does not
compress), callback JSON and HTML. Static files are compressed once and kept; no extra dependency."""

from __future__ import annotations

import gzip
import threading

from flask import Flask, request

COMPRESSIBLE = ("application/javascript", "text/javascript", "text/css", "application/json", "text/html",
                "image/svg+xml", "application/geo+json")
MIN_SIZE = 1024
_static: dict[tuple, bytes] = {}
_lock = threading.Lock()


SUITES = "/_dash-component-suites/"


def _key(response) -> tuple | None:
    """A cache key for responses that are files: the same URL and version always gives the same bytes."""
    if request.method != "GET":
        return None
    tag = response.headers.get("ETag") or response.headers.get("Last-Modified")
    if tag:
        return (request.path, request.query_string, tag)
    if request.path.startswith(SUITES):  # Dash's fingerprinted bundles: the version is in the path
        return (request.path, request.query_string, response.calculate_content_length())
    return None


def gzip_response(response):
    if (response.status_code != 200 or "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.headers.get("Content-Encoding") or response.mimetype not in COMPRESSIBLE):
        return response
    key = _key(response)
    body = _static.get(key) if key else None
    if body is None:
        response.direct_passthrough = False
        raw = response.get_data()
        if len(raw) < MIN_SIZE:
            return response
        body = gzip.compress(raw, 9 if key else 5)
        if key:
            with _lock:
                if len(_static) > 256:
                    _static.clear()
                _static[key] = body
    else:
        response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    response.headers.add("Vary", "Accept-Encoding")
    return response


def install(server: Flask) -> None:
    server.after_request(gzip_response)
