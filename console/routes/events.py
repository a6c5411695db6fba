"""POST /api/events and POST /api/events/batch as a plain WSGI endpoint in front of Flask.

Flask's request and response objects, routing, and the console's before/after-request hooks cost about as much
CPU per event as the rest of the ingest (measured under granian: a Flask route that only parses and answers
JSON took 0.6 ms per request, the same handler as bare WSGI 0.27 ms). These two paths need none of them:
they authenticate by the source's own key (no session, no CSRF: the security gate lets them through untouched),
so `EventsEndpoint.wrap(server.wsgi_app)` answers them before Flask sees the request. Every check the Flask
view made is made here in the same order (key → rate limit → length → size → content type → JSON), the answers
carry the console's static security headers, and everything after parsing is `Ingestor.ingest` as before.

Batch: a JSON array of up to MAX_BATCH_ITEMS events (body ≤ MAX_BATCH_BODY). Each item is validated, located
and written exactly like a single event (idempotent by its event_id, its own result); the answer comes only
after every accepted item is committed. Items cost one rate-limit token each.
"""

from __future__ import annotations

import logging

from console.duty import body as bodies
from console.duty.ingest import BAD_KEY, IngestError, Ingestor
from console.duty.sources import SourceKeys
from console.security.hardening import RateLimiter

MAX_BODY = 64 * 1024
MAX_BATCH_ITEMS = 500
MAX_BATCH_BODY = 2 * 1024 * 1024
EVENTS, BATCH = "/api/events", "/api/events/batch"
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 409: "Conflict",
            411: "Length Required", 413: "Payload Too Large", 415: "Unsupported Media Type",
            422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}
log = logging.getLogger(__name__)
BUSY = {"error": "busy", "reason": "写入繁忙，请稍后用同一 event_id 重试"}


class Refused(Exception):
    """A whole request refused before any event was looked at."""

    def __init__(self, status: int, code: str, reason: str):
        super().__init__(reason)
        self.status, self.body = status, {"error": code, "reason": reason}


dumps = bodies.dumps


class EventsEndpoint:
    def __init__(self, ingestor: Ingestor, keys: SourceKeys, limiter: RateLimiter,
                 headers: list[tuple[str, str]] | tuple = ()):
        self.ingestor, self.keys, self.limiter = ingestor, keys, limiter
        self.headers = [("Cache-Control", "no-store"), *headers]

    # -- WSGI ---------------------------------------------------------------------------------------
    def wrap(self, app):
        """WSGI middleware: POST /api/events(/batch) here, every other request to `app`."""
        def wsgi(environ, start_response):
            path = environ.get("PATH_INFO")
            if (path == EVENTS or path == BATCH) and environ.get("REQUEST_METHOD") == "POST":
                return self(environ, start_response)
            return app(environ, start_response)

        return wsgi

    def __call__(self, environ, start_response):
        status, body, extra = self.answer(environ)
        data = dumps(body)
        start_response(f"{status} {_REASONS.get(status, '')}", [
            ("Content-Type", "application/json"), ("Content-Length", str(len(data))), *self.headers, *extra])
        return [data]

    def answer(self, environ) -> tuple[int, dict, list[tuple[str, str]]]:
        """(status, JSON body, extra headers) for a POST to either path."""
        try:
            if environ.get("PATH_INFO") == BATCH:
                return self._batch(environ)
            return self._single(environ)
        except Refused as exc:
            return exc.status, exc.body, []
        except Exception:  # a bug, not the source's fault: still a JSON answer, and retrying is safe
            log.exception("duty ingest: request failed")
            return 500, {"error": "internal", "reason": "服务器内部错误，可用同一 event_id 重试"}, []

    # -- the two routes -----------------------------------------------------------------------------
    def _single(self, environ):
        source, key = self._source(environ)
        if not self.limiter.allow(source):
            raise Refused(429, "rate_limited", "请求过于频繁")
        body = self._body(environ, MAX_BODY)
        try:
            status, out = self.ingestor.ingest(source, body, key=key)
        except IngestError as exc:
            return exc.status, exc.body(), []
        except TimeoutError:  # the writer is stuck (e.g. the database locked for long): the event may or may
            # not be stored — a retry with the same event_id is safe either way
            return 503, BUSY, [("Retry-After", "1")]
        return status, out, ([("Idempotent-Replay", "true")] if status == 200 else [])

    def _batch(self, environ):
        source, key = self._source(environ)
        items = self._body(environ, MAX_BATCH_BODY, bodies.MAX_DEPTH + 1)  # the array is one level more
        if not isinstance(items, list) or not items:
            raise Refused(400, "wrong_type", "请求体必须是非空的 JSON 数组（事件对象的列表）")
        if len(items) > MAX_BATCH_ITEMS:
            raise Refused(413, "too_large", f"一批最多 {MAX_BATCH_ITEMS} 个事件（本次 {len(items)} 个）")
        if not self.limiter.allow(source, cost=len(items)):
            raise Refused(429, "rate_limited", "请求过于频繁")
        results = []
        answers = self.ingestor.ingest_many(source, items, key=key)
        if all(out.get("error") == "bad_key" for _s, out in answers):  # the key changed before any item was written
            raise Refused(401, "bad_key", BAD_KEY)
        for item, (status, out) in zip(items, answers):
            eid = item.get("event_id") if isinstance(item, dict) else None
            if status >= 400 and isinstance(eid, str):
                out = {"event_id": eid, **out}
            results.append({"status": status, **out})
        stored = sum(1 for r in results if r["status"] in (200, 201))
        return 200, {"stored": stored, "refused": len(results) - stored, "results": results}, []

    # -- shared checks ------------------------------------------------------------------------------
    def _source(self, environ) -> tuple[str, tuple[str, str]]:
        """(source name, (key prefix, stored hash)) from the cached key table; the writer re-checks the hash in
        the transaction that stores the events (`SourceKeys.verify`)."""
        key = environ.get("HTTP_X_API_KEY") or environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        found = self.keys.verify(key.strip())
        if found is None:
            raise Refused(401, "bad_key", BAD_KEY)
        return found[0], found[1:]

    def _body(self, environ, limit: int, depth: int = bodies.MAX_DEPTH):
        """The parsed JSON body (`console.duty.body`), after the length, size and content-type checks."""
        length = environ.get("CONTENT_LENGTH")
        if not length and environ.get("HTTP_TRANSFER_ENCODING"):
            raise Refused(411, "length_required", "请提供 Content-Length")
        try:
            n = int(length or 0)
        except ValueError:
            raise Refused(400, "bad_length", "Content-Length 不是整数") from None
        if n > limit:  # before reading it
            raise Refused(413, "too_large", f"请求体超过 {limit} 字节")
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != "application/json":
            raise Refused(415, "not_json", "Content-Type 必须是 application/json")
        raw = environ["wsgi.input"].read(n) if n > 0 else b""
        try:
            return bodies.parse(raw, limit=limit, depth=depth)
        except bodies.BodyError as exc:
            raise Refused(exc.status, exc.code, exc.reason) from None
