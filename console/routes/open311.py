"""Case intake API modelled on Open311 GeoReport v2 (12345 hotline, grid-worker app).

GET  /api/open311/services.json          the dispute categories as services
POST /api/open311/requests.json          submit a case (JSON or form); idempotent by `client_request_id`
                                         (or the `Idempotency-Key` header), per API key
GET  /api/open311/requests/<code>.json   one case's status (no personal data), within the key's scope

Authentication is the security gate's `X-API-Key` (console.security.web); this module checks permission and
scope, validates every field (Chinese message per field) and audits. Register with
`open311.register(app.server)`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from console.disputes import service
from console.security import guard, throttle
from console.security.permissions import DISPUTE_REGISTER, VIEW_CASES
from console.store import Dispute, Event
from console.store.codes import DISPUTE_CATEGORIES, DISPUTE_STATES, OPEN_DISPUTE_STATES

PREFIX = "/api/open311"
SOURCE = "open311"
SESSIONS_KEY = "pingan_open311_sessions"
CLOCK_KEY = "pingan_open311_clock"
DESCRIPTIONS = {k: f"{v}类矛盾纠纷" for k, v in DISPUTE_CATEGORIES.items()}
MAX_ID = 64

blueprint = Blueprint("pingan_open311", __name__)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8", headers={"Cache-Control": "no-store"})


def _errors(status: int, errors: dict[str, str]) -> Response:
    return _json([{"code": status, "field": f, "description": msg} for f, msg in errors.items()], status)


def _viewer():
    from console.security.web import current_viewer

    return current_viewer()


def _sessions():
    return current_app.config[SESSIONS_KEY]


def _now() -> datetime:
    clock = current_app.config.get(CLOCK_KEY)
    return clock() if clock else datetime.now().replace(microsecond=0)


@blueprint.get(f"{PREFIX}/services.json")
def services():
    return _json([{"service_code": k, "service_name": v, "description": DESCRIPTIONS[k], "metadata": False,
                   "type": "realtime", "keywords": "矛盾纠纷", "group": "矛盾纠纷"} for k, v in DISPUTE_CATEGORIES.items()])


def _payload() -> dict:
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}
    form = request.form.to_dict()
    if "parties" in form:
        try:
            form["parties"] = json.loads(form["parties"])
        except ValueError:
            form["parties"] = None
    return form


def to_case(p: dict) -> dict:
    """GeoReport field names → the case form."""
    return {"title": p.get("title") or (str(p.get("description") or "")[:20]), "category": p.get("service_code"),
            "occurred_on": p.get("occurred_on") or p.get("requested_datetime", "")[:10] or None,
            "place": p.get("address_string") or p.get("address"), "lon": p.get("long"), "lat": p.get("lat"),
            "scale": p.get("scale") or 2, "description": p.get("description"), "risk_grade": p.get("risk_grade"),
            "parties": p.get("parties")}


def _fingerprint(p: dict) -> str:
    return hashlib.sha256(json.dumps(p, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _existing(session, source: str, client_id: str):
    return session.scalar(select(Event).where(Event.source == source, Event.source_event_id == client_id))


def _replay(event, fingerprint: str) -> Response:
    body = json.loads(event.payload)
    if body.get("fingerprint") != fingerprint:
        return _errors(409, {"client_request_id": "该请求编号已用于另一条不同的请求"})
    return _json([{"service_request_id": body["code"], "service_notice": "重复提交，返回首次受理结果"}], 200)


@blueprint.post(f"{PREFIX}/requests.json")
def create_request():
    viewer = _viewer()
    guard.require(viewer, DISPUTE_REGISTER, "open311:request", log_grant=False)
    p = _payload()
    client_id = str(p.pop("client_request_id", "") or request.headers.get("Idempotency-Key", "")).strip()
    if not client_id or len(client_id) > MAX_ID:
        return _errors(400, {"client_request_id": f"缺少请求编号 client_request_id（1–{MAX_ID}字符），用于防止重复提交"})
    source = f"{SOURCE}:{viewer.username}"[:32]
    fingerprint = _fingerprint(p)
    factory = _sessions()
    with factory() as s:
        event = _existing(s, source, client_id)
    if event is not None:
        return _replay(event, fingerprint)
    now = _now()

    def remember(session, case):
        session.add(Event(source=source, source_event_id=client_id, kind="dispute.intake", occurred_at=now,
                          received_at=now, payload=json.dumps({"code": case.code, "dispute_id": case.id,
                                                               "fingerprint": fingerprint}),
                          lon=case.lon, lat=case.lat, county_code=case.county_code, town_code=case.town_code,
                          village_code=case.village_code, grid_code=case.grid_code,
                          assign_generation=case.assign_generation))
        session.flush()

    try:
        res = service.register(factory, viewer, to_case(p), now=now, source="open311", allow_duplicate=True,
                               on_saved=remember)
    except throttle.Throttled as exc:
        return _errors(429, {"client_request_id": str(exc)})
    except IntegrityError:  # a concurrent twin won the race: answer with its result
        with factory() as s:
            event = _existing(s, source, client_id)
        if event is None:
            raise
        return _replay(event, fingerprint)
    if not res.ok:
        names = {"lon": "long", "lat": "lat", "category": "service_code", "place": "address_string"}
        return _errors(400, {names.get(k, k): v for k, v in res.errors.items()})
    notice = "已受理" + (f"；可能与{'、'.join(d.code for d in res.duplicates)}重复" if res.duplicates else "")
    return _json([{"service_request_id": res.code, "service_notice": notice, "account_id": None}], 201)


@blueprint.get(f"{PREFIX}/requests/<code>.json")
def get_request(code: str):
    viewer = _viewer()
    guard.require(viewer, VIEW_CASES, f"open311:{code}"[:200], log_grant=False)
    with _sessions()() as s:
        case = s.scalar(select(Dispute).where(Dispute.code == code[:24]))
        if case is None or not viewer.scope.allows(case.village_code):
            return _errors(404, {"service_request_id": "案件不存在或不在您的范围内"})
        guard.audit(viewer, "open311.read", f"dispute:{case.code}", guard.GRANTED, {"area": case.village_code})
        return _json([{
            "service_request_id": case.code, "status": "open" if case.state in OPEN_DISPUTE_STATES else "closed",
            "status_notes": DISPUTE_STATES.get(case.state, case.state), "service_code": case.category,
            "service_name": DISPUTE_CATEGORIES.get(case.category, case.category), "description": case.title,
            "agency_responsible": case.department or "", "requested_datetime": case.registered_at.isoformat(),
            "expected_datetime": case.deadline.isoformat() if case.deadline else None,
            "address": case.place, "lat": case.lat, "long": case.lon,
        }])


def register(server, session_factory=None, *, clock=None) -> None:
    """Mount the API on the Flask server (the security gate must be installed for API-key auth)."""
    if session_factory is None:
        from console.services.context import CONTEXT_KEY

        session_factory = server.config[CONTEXT_KEY].sessions
    server.config[SESSIONS_KEY] = session_factory
    server.config[CLOCK_KEY] = clock
    server.register_blueprint(blueprint)
