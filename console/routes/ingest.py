"""Duty ingest routes (see docs/openapi/events.yaml):

POST /api/events                 one event from a source system (X-API-Key: the source's key)
POST /api/events/batch           up to 500 events in one request, a result per event
GET  /api/areas?lon=&lat=        point → county / town / village / grid
GET  /api/alerts/changes?cursor= alerts changed after the cursor, in the viewer's scope

Register with `ingest.register(app.server, engine)`. The two POSTs are answered by a WSGI endpoint in front of
Flask (`console.routes.events`); the GETs are Flask routes.
"""

from __future__ import annotations

import json
import logging

from geodata.assign import InvalidPolygonsError
from flask import Flask, Response, request

from console.duty import feed
from console.duty.geo import locator
from console.duty.ingest import Ingestor
from console.duty.sources import SourceKeys
from console.duty.sweeper import start_sweeper
from console.routes.events import BATCH, EVENTS, EventsEndpoint, dumps
from console.security.hardening import RateLimiter

log = logging.getLogger(__name__)


def _json(body: dict, status: int = 200, **headers) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json",
                    headers={"Cache-Control": "no-store", **headers})


def _error(status: int, code: str, reason: str) -> Response:
    return _json({"error": code, "reason": reason}, status)


def register(server: Flask, engine, *, viewer=None, config: dict | None = None, per_minute: float = 60_000,
             burst: int = 2_000, sweep: bool = False, headers: list[tuple[str, str]] | tuple = (),
             clock=None) -> Ingestor:
    """Add the routes. `viewer()` gives the scope for the change feed (default: console's current_viewer).
    `sweep=True` also starts the background sweeper (camera offline > T, auto-escalation of unacknowledged alerts).
    `headers`: added to every answer of the two POSTs (the console's static security headers).
    `clock`: naive-UTC "now" for the accepted window of event times (tests pin it)."""
    ingestor = Ingestor.create(engine, config, clock=clock)
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

    endpoint = EventsEndpoint(ingestor, keys, limiter, headers)
    server.wsgi_app = endpoint.wrap(server.wsgi_app)  # answers both POSTs before Flask sees them

    def post_event():  # reached only if something replaced server.wsgi_app after register(): same answers
        status, body, extra = endpoint.answer(request.environ)
        return Response(dumps(body), status, mimetype="application/json", headers=[*endpoint.headers, *extra])

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

    server.add_url_rule(EVENTS, "duty_post_event", post_event, methods=["POST"])
    server.add_url_rule(BATCH, "duty_post_events", post_event, methods=["POST"])
    server.add_url_rule("/api/areas", "duty_areas", areas, methods=["GET"])
    server.add_url_rule("/api/alerts/changes", "duty_changes", changes, methods=["GET"])
    server.extensions["pingan_duty_ingest"] = ingestor
    return ingestor
