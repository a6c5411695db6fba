"""The 网格员 phone app under /m/ (docs/field.md): the app shell, its service worker, manifest and vendored
scripts, all served by this server (no CDN). The same accounts and session as the console; the gate requires
`field:sync` for everything under /m/.

The service worker is `static/sw.js` with the precache list written in where it says `self.__WB_MANIFEST`
(workbox's injectManifest convention): each shell file with a revision = its content hash, so a new release
replaces exactly the files that changed.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import console.field
from flask import Blueprint, Flask, Response, abort, send_from_directory

from console.security.gate import Security

STATIC = Path(console.field.__file__).resolve().with_name("static")
SHELL = ("index.html", "app.css", "app.js", "patrol.js", "followup.js", "queue.js", "vendor/idb.umd.js", "manifest.webmanifest", "icon.svg")
# The phone app asks for the position; every other page keeps geolocation off (security.gate.static_headers).
PERMISSIONS_POLICY = "camera=(self), microphone=(), geolocation=(self)"

blueprint = Blueprint("pingan_mobile", __name__)


def _url(name: str) -> str:
    return "/m/" if name == "index.html" else f"/m/{name}" if name == "manifest.webmanifest" else f"/m/static/{name}"


@lru_cache(maxsize=1)
def precache_manifest() -> str:
    entries = [{"url": _url(n), "revision": hashlib.sha256((STATIC / n).read_bytes()).hexdigest()[:16]}
               for n in SHELL]
    return json.dumps(entries, ensure_ascii=False)


def _file(name: str, mimetype: str, body: bytes | None = None) -> Response:
    resp = Response(body if body is not None else (STATIC / name).read_bytes(), mimetype=mimetype)
    resp.headers["Cache-Control"] = "no-cache"  # revalidated; offline the service worker answers
    resp.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    return resp


@blueprint.get("/m/")
def shell():
    return _file("index.html", "text/html")


@blueprint.get("/m/sw.js")
def service_worker():
    text = (STATIC / "sw.js").read_text(encoding="utf-8").replace("self.__WB_MANIFEST", precache_manifest())
    resp = _file("sw.js", "text/javascript", text.encode("utf-8"))
    resp.headers["Service-Worker-Allowed"] = "/m/"
    return resp


@blueprint.get("/m/manifest.webmanifest")
def manifest():
    return _file("manifest.webmanifest", "application/manifest+json")


@blueprint.get("/m/static/<path:name>")
def static(name: str):
    if name == "sw.js":
        abort(404)
    resp = send_from_directory(STATIC, name, max_age=0)
    resp.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    return resp


def register(server: Flask, security: Security) -> None:
    server.register_blueprint(blueprint)
