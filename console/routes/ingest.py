"""Duty ingest routes (see docs/openapi/events.yaml):

POST /api/events                 one event from a source system (X-API-Key: the source's key)
GET  /api/areas?lon=&lat=        point → county / town / village / grid
GET  /api/alerts/changes?cursor= alerts changed after the cursor, in the viewer's scope

Register with `ingest.register(app.server, engine)`.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from geodata.assign import InvalidPolygonsError
from flask import Flask, Response, request

from console.duty import feed
from console.duty.geo import locator
from console.duty.ingest import IngestError, Ingestor
from console.duty.sources import SourceKeys
from console.security.hardening import RateLimiter

MAX_BODY = 64 * 1024
SWEEP_CHUNK = 200
log = logging.getLogger(__name__)


def _json(body: dict, status: int = 200, **headers) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json",
                    headers={"Cache-Control": "no-store", **headers})


def _error(status: int, code: str, reason: str) -> Response:
    return _json({"error": code, "reason": reason}, status)


def register(server: Flask, engine, *, viewer=None, config: dict | None = None, per_minute: float = 600_000,
             burst: int = 20_000, sweep: bool = False) -> Ingestor:
    """Add the three routes. `viewer()` gives the scope for the change feed (default: console's current_viewer).
    `sweep=True` also starts the background sweeper (camera offline > T, auto-escalation of unacknowledged alerts)."""
    ingestor = Ingestor.create(engine, config)
    try:
        locator(engine)  # build the grid index now, not on the first POST
    except InvalidPolygonsError:  # a database without grids yet: the first located event will try again
        logging.getLogger(__name__).warning("no grids in the database; events cannot be located yet")
    if sweep:
        start_sweeper(ingestor)
    keys = SourceKeys(ingestor.sessions)
    limiter = RateLimiter(burst, per_minute)
    if viewer is None:
        from console.services.viewer import current_viewer as viewer

    def post_event():
        key = request.headers.get("X-API-Key") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        source = keys.source_for(key.strip())
        if source is None:
            return _error(401, "bad_key", "缺少或无效的接口密钥（X-API-Key）")
        if not limiter.allow(source):
            return _error(429, "rate_limited", "请求过于频繁")
        if request.content_length is None and request.headers.get("Transfer-Encoding"):
            return _error(411, "length_required", "请提供 Content-Length")
        if (request.content_length or 0) > MAX_BODY:
            return _error(413, "too_large", f"请求体超过 {MAX_BODY} 字节")
        if request.mimetype != "application/json":
            return _error(415, "not_json", "Content-Type 必须是 application/json")
        raw = request.get_data(cache=False)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, "malformed_json", f"JSON 无法解析: {str(exc)[:120]}")
        try:
            status, out = ingestor.ingest(source, body)
        except IngestError as exc:
            return _error(exc.status, exc.code, exc.reason)
        except TimeoutError:  # the writer is stuck (e.g. the database locked for long): the event may or may
            # not be stored — a retry with the same event_id is safe either way
            return _json({"error": "busy", "reason": "写入繁忙，请稍后用同一 event_id 重试"}, 503, **{"Retry-After": "1"})
        return _json(out, status, **({"Idempotent-Replay": "true"} if status == 200 else {}))

    def areas():
        try:
            lon, lat = float(request.args["lon"]), float(request.args["lat"])
        except (KeyError, ValueError):
            return _error(400, "bad_point", "需要数字参数 lon 和 lat")
        found = locator(engine).areas(lon, lat)
        if found is None:
            return _error(404, "outside_ankang", "该点不在安康市任何网格内")
        return _json({k: found[k] for k in ("county", "town", "village", "grid")})

    def changes():
        try:
            cursor = int(request.args.get("cursor", "0"))
        except ValueError:
            return _error(400, "bad_cursor", "cursor 必须是整数")
        with ingestor.sessions() as s:
            return _json(feed.changes(s, viewer().scope, cursor))

    server.add_url_rule("/api/events", "duty_post_event", post_event, methods=["POST"])
    server.add_url_rule("/api/areas", "duty_areas", areas, methods=["GET"])
    server.add_url_rule("/api/alerts/changes", "duty_changes", changes, methods=["GET"])
    return ingestor


def sweep_once(ingestor: Ingestor) -> dict:
    from datetime import datetime

    from console.duty.actions import auto_escalate
    from console.duty.ingest import offline_sweep

    # In rounds of at most SWEEP_CHUNK rows, each its own short transaction: a sweep that finds thousands of
    # silent cameras or overdue alerts must not hold SQLite's write lock for seconds while ingest waits.
    now = datetime.utcnow()
    out: dict = {"offline": [], "escalated": []}
    for name, step in (("offline", lambda s: offline_sweep(s, ingestor.config, now, SWEEP_CHUNK)),
                       ("escalated", lambda s: auto_escalate(s, now, SWEEP_CHUNK))):
        while True:
            with ingestor.sessions() as s, s.begin():
                done = step(s)
            out[name] += done
            if len(done) < SWEEP_CHUNK:
                break
    return out


def start_sweeper(ingestor: Ingestor) -> threading.Thread:
    every = float((ingestor.config.get("camera_offline") or {}).get("sweep_seconds", 30))

    def run():
        while True:
            try:
                sweep_once(ingestor)
            except Exception:  # a failed sweep must not stop ingest; the next round retries
                log.exception("duty sweep failed")
            time.sleep(every)

    thread = threading.Thread(target=run, name="pingan-duty-sweep", daemon=True)
    thread.start()
    return thread
