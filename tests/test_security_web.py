"""Flask integration: the gate, login flow, cookies, CSRF, headers, forged cookies, API keys, timeouts."""

import re

import pyotp
import pytest
from flask import Flask, jsonify
from sqlalchemy import select

from console.security import admin
import sectest as testing
from console.security.permissions import LAYER_SPECIAL, UNMASK
from console.security.web import callback_output_ids, current_viewer, install
from console.store.security_models import AuditLog

testing.use_fast_hasher()
PW = testing.STRONG
ORIGIN = "http://localhost"
DASH_BODY = {"output": "special-table.data", "outputs": {"id": "special-table", "property": "data"},
             "inputs": [], "changedPropIds": []}


@pytest.fixture
def env(tmp_path):
    clock = testing.Clock()
    engine, factory = testing.store(tmp_path)
    app = Flask(__name__)

    @app.route("/")
    def home():
        v = current_viewer()
        return f"home {v.username} {sorted(v.scope.codes)}"

    @app.route("/_dash-update-component", methods=["POST"])
    def dash_update():
        return jsonify(ok=True, viewer=current_viewer().username)

    @app.route("/_dash-layout")
    def dash_layout():
        return jsonify(layout=1)

    @app.route("/submit", methods=["POST"])
    def submit():
        return "changed"

    @app.route("/special")
    def special():
        return "special data"

    @app.route("/api/ingest", methods=["POST"])
    def ingest():
        return jsonify(viewer=current_viewer().username)

    sec = install(app, factory, testing.settings(clock, secure_cookie=True))
    sec.protect_path("/special", LAYER_SPECIAL)
    sec.protect_callback("special-table", UNMASK)
    testing.add_account(factory, "worker", ["grid_worker"], ["610902001001001"])
    testing.add_account(factory, "planner", ["grid_planner"], ["610902"])
    yield app, factory, clock, sec
    engine.dispose()


def login_page(client):
    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def login(client, username="worker", password=PW, next_url="/"):
    token = login_page(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_url}, headers={"Origin": ORIGIN})


def csrf_of(client):
    return client.get_cookie("_csrf_token").value


def actions(factory, actor=None):
    with factory() as s:
        q = select(AuditLog.action, AuditLog.result).order_by(AuditLog.id)
        if actor:
            q = q.where(AuditLog.actor == actor)
        return s.execute(q).all()


def test_unauthenticated_requests_are_refused(env):
    app, factory, clock, sec = env
    c = app.test_client()
    r = c.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=/")
    assert c.post("/_dash-update-component", json=DASH_BODY, headers={"Origin": ORIGIN}).status_code == 401
    assert c.get("/_dash-layout").status_code == 401
    assert c.get("/special").status_code == 401
    assert c.post("/api/ingest", json={}).status_code == 401
    r = c.get("/login")
    assert r.status_code == 200 and "登录" in r.get_data(as_text=True)


def test_login_sets_secure_cookie_flags_and_reaches_the_console(env):
    app, factory, clock, sec = env
    c = app.test_client()
    r = login(c)
    assert r.status_code == 303 and r.headers["Location"] == "/"
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("pingan_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie  # a session cookie
    r = c.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.get_data(as_text=True) == "home worker ['610902001001001']"
    assert ("login.success", "granted") in actions(factory, "worker")


def test_security_headers(env):
    app, factory, clock, sec = env
    r = app.test_client().get("/login")
    h = r.headers
    assert "default-src 'self'" in h["Content-Security-Policy"] and "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "http:" not in h["Content-Security-Policy"] and "https:" not in h["Content-Security-Policy"]
    assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin" and h["Cache-Control"] == "no-store"


def test_wrong_password_same_page_and_audited(env):
    app, factory, clock, sec = env
    c = app.test_client()
    a = login(c, "worker", "Wrong#pass1")
    b = login(c, "nobody", "Wrong#pass1")
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert a.status_code == b.status_code == 401
    assert strip(a).replace("worker", "nobody") == strip(b)
    assert c.get_cookie("pingan_session") is None


def test_csrf_missing_or_wrong_is_refused(env):
    app, factory, clock, sec = env
    c = app.test_client()
    login(c)
    assert c.post("/submit", data={}, headers={"Origin": ORIGIN}).status_code == 403
    assert c.post("/submit", data={"csrf_token": "forged"}, headers={"Origin": ORIGIN}).status_code == 403
    token = csrf_of(c)
    assert c.post("/submit", data={"csrf_token": token}, headers={"Origin": "http://evil.example"}).status_code == 403
    assert c.post("/submit", data={"csrf_token": token}, headers={"Origin": ORIGIN}).status_code == 200
    # Dash: same-origin JSON with the header the renderer sends.
    assert c.post("/_dash-update-component", json={"output": "x.children"}).status_code == 403  # no origin/token
    ok = c.post("/_dash-update-component", json={"output": "x.children"},
                headers={"Origin": ORIGIN, "X-CSRFToken": token})
    assert ok.status_code == 200 and ok.json["viewer"] == "worker"
    assert c.post("/_dash-update-component", json={"output": "x.children"},
                  headers={"Referer": "http://evil.example/page", "X-CSRFToken": token}).status_code == 403
    assert actions(factory, "worker").count(("csrf.refused", "refused")) == 5


def test_login_form_needs_its_csrf_token(env):
    app, factory, clock, sec = env
    c = app.test_client()
    r = c.post("/login", data={"username": "worker", "password": PW, "csrf_token": "x"})
    assert r.status_code == 401 and c.get_cookie("pingan_session") is None


def test_replayed_csrf_token_from_an_old_session_is_refused(env):
    app, factory, clock, sec = env
    c = app.test_client()
    login(c)
    old = csrf_of(c)
    c.post("/logout", data={"csrf_token": old}, headers={"Origin": ORIGIN})
    login(c)
    assert c.post("/submit", data={"csrf_token": old}, headers={"Origin": ORIGIN}).status_code == 403


def test_forged_or_ended_cookie_is_refused(env):
    app, factory, clock, sec = env
    c = app.test_client()
    c.set_cookie("pingan_session", "forged-value-of-plausible-length-123456789")
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 302
    assert c.post("/_dash-update-component", json=DASH_BODY, headers={"Origin": ORIGIN}).status_code == 401
    assert ("session.invalid", "refused") in actions(factory)
    login(c)
    cookie = c.get_cookie("pingan_session").value
    c.post("/logout", data={"csrf_token": csrf_of(c)}, headers={"Origin": ORIGIN})
    c2 = app.test_client()
    c2.set_cookie("pingan_session", cookie)  # a copied cookie after logout
    assert c2.get("/", headers={"Accept": "text/html"}).status_code == 302


def test_idle_timeout_through_the_web(env):
    app, factory, clock, sec = env
    c = app.test_client()
    login(c)
    clock.advance(minutes=20)
    assert c.get("/").status_code == 200
    clock.advance(minutes=31)
    r = c.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 302 and "reason=idle" in r.headers["Location"]
    assert "空闲超时" in c.get(r.headers["Location"]).get_data(as_text=True)


def test_background_polling_does_not_keep_an_idle_session_alive(env):
    app, factory, clock, sec = env

    @app.route("/api/alerts/changes")
    def changes():
        return jsonify(alerts=[])

    c = app.test_client()
    login(c)
    csrf = csrf_of(c)
    interval = {"output": "feed.data", "outputs": {"id": "feed", "property": "data"},
                "inputs": [{"id": "tick", "property": "n_intervals", "value": 3}], "changedPropIds": ["tick.n_intervals"]}
    for _ in range(29):  # 29 minutes of polling only: the duty feed, a dcc.Interval callback, a marked fetch
        clock.advance(minutes=1)
        assert c.get("/api/alerts/changes").status_code == 200
        assert c.post("/_dash-update-component", json=interval,
                      headers={"Origin": ORIGIN, "X-CSRFToken": csrf}).status_code == 200
        assert c.get("/", headers={"X-Pingan-Background": "1"}).status_code == 200
    clock.advance(minutes=2)  # 31 minutes since the last user action: ended, even for the poller
    assert c.get("/api/alerts/changes").status_code == 401
    assert ("session.end", "granted") in actions(factory, "worker")
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 302


def test_user_requests_extend_the_session_and_interval_detection_is_exact(env):
    app, factory, clock, sec = env
    c = app.test_client()
    login(c)
    csrf = csrf_of(c)
    click = {"output": "x.children", "outputs": {"id": "x", "property": "children"},
             "inputs": [{"id": "btn", "property": "n_clicks", "value": 1}], "changedPropIds": ["btn.n_clicks"]}
    for _ in range(3):  # a user clicking every 20 minutes stays logged in for an hour
        clock.advance(minutes=20)
        assert c.post("/_dash-update-component", json=click,
                      headers={"Origin": ORIGIN, "X-CSRFToken": csrf}).status_code == 200
    assert c.get("/").status_code == 200
    from console.security.activity import is_background

    assert is_background("/_dash-update-component", {}, {"changedPropIds": ["t.n_intervals"]})
    assert not is_background("/_dash-update-component", {}, {"changedPropIds": ["t.n_intervals", "b.n_clicks"]})
    assert not is_background("/_dash-update-component", {}, {"changedPropIds": []})  # page load
    assert not is_background("/_dash-update-component", {}, None) and not is_background("/", {})
    assert is_background("/api/alerts/changes", {}) and is_background("/x", {"X-Pingan-Background": "1"})


def test_route_and_callback_permissions(env):
    app, factory, clock, sec = env
    worker, planner = app.test_client(), app.test_client()
    login(worker)
    login(planner, "planner")
    assert worker.get("/special").status_code == 200
    assert planner.get("/special").status_code == 403
    ok = worker.post("/_dash-update-component", json=DASH_BODY, headers={"Origin": ORIGIN, "X-CSRFToken": csrf_of(worker)})
    assert ok.status_code == 200
    no = planner.post("/_dash-update-component", json=DASH_BODY,
                      headers={"Origin": ORIGIN, "X-CSRFToken": csrf_of(planner)})
    assert no.status_code == 403
    assert actions(factory, "planner").count(("access.denied", "refused")) == 2


def test_callback_output_ids():
    assert callback_output_ids(DASH_BODY) == {"special-table"}
    multi = {"output": "..a.children...b.data..",
             "outputs": [{"id": "a", "property": "children"}, {"id": {"type": "row", "index": 1}, "property": "x"}]}
    assert callback_output_ids(multi) == {"a", "row"}
    assert callback_output_ids({"output": "..a.children...b.data.."}) == {"a", "b"}


def test_forced_password_change_flow(env):
    app, factory, clock, sec = env
    testing.add_account(factory, "fresh", ["town"], ["610902001"], must_change=True, now=clock())
    c = app.test_client()
    r = login(c, "fresh", next_url="/?area=610902001")
    assert r.headers["Location"].startswith("/password?next=")
    assert c.get("/", headers={"Accept": "text/html"}).headers["Location"] == "/password"
    assert c.post("/_dash-update-component", json={}, headers={"Origin": ORIGIN}).status_code in (401, 403)
    page = c.get("/password").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    bad = c.post("/password", data={"csrf_token": token, "old": PW, "new": "weak", "confirm": "weak"},
                 headers={"Origin": ORIGIN})
    assert bad.status_code == 400 and "密码长度" in bad.get_data(as_text=True)
    good = c.post("/password", data={"csrf_token": token, "old": PW, "new": "Brand#New2026", "confirm": "Brand#New2026",
                                     "next": "/?area=610902001"}, headers={"Origin": ORIGIN})
    assert good.status_code == 303 and good.headers["Location"] == "/?area=610902001"
    assert c.get("/").status_code == 200


def test_admin_must_enrol_totp_before_anything_else(env):
    app, factory, clock, sec = env
    testing.add_account(factory, "sysadm", ["system_admin"])
    c = app.test_client()
    r = login(c, "sysadm")
    assert r.headers["Location"].startswith("/totp/setup")
    assert c.get("/", headers={"Accept": "text/html"}).headers["Location"] == "/totp/setup"
    page = c.get("/totp/setup").get_data(as_text=True)
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/totp/setup", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock())},
               headers={"Origin": ORIGIN})
    assert r.status_code == 303 and c.get("/").status_code == 200
    # Next login asks for the code.
    c2 = app.test_client()
    clock.advance(seconds=90)
    assert login(c2, "sysadm").headers["Location"].startswith("/login/totp")
    assert c2.get("/").status_code == 401
    page = c2.get("/login/totp").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert c2.post("/login/totp", data={"csrf_token": token, "code": "000000"},
                   headers={"Origin": ORIGIN}).status_code == 401
    r = c2.post("/login/totp", data={"csrf_token": token, "code": pyotp.TOTP(secret).at(clock())},
                headers={"Origin": ORIGIN})
    assert r.status_code == 303 and c2.get("/").status_code == 200


def test_api_key_access(env):
    app, factory, clock, sec = env
    testing.add_account(factory, "sys", ["system_admin"])
    testing.add_account(factory, "feeder", ["intake_source"], ["610902"])  # keys belong to intake sources only
    key = admin.issue_api_key(factory, testing.viewer_of(factory, "sys", clock), "feeder", "ingest-bot")
    c = app.test_client()
    r = c.post("/api/ingest", json={}, headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json["viewer"] == "api:ingest-bot"
    assert c.post("/api/ingest", json={}, headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401
    assert c.post("/api/ingest", json={}, headers={"Authorization": "Bearer " + key}).status_code == 200
    assert c.get("/", headers={"X-API-Key": key}).status_code == 401  # keys open only API routes
    assert ("api.auth", "refused") in actions(factory)


def test_brute_force_is_rate_limited_per_ip(env):
    app, factory, clock, sec = env
    c = app.test_client()
    codes = [login(c, "worker", f"Wrong#{i}pass").status_code for i in range(12)]
    assert codes[-1] == 429 and 401 in codes


def test_oversized_request_is_refused(env):
    app, factory, clock, sec = env
    c = app.test_client()
    login(c)
    r = c.post("/submit", data={"csrf_token": csrf_of(c), "blob": "x" * (9 * 1024 * 1024)}, headers={"Origin": ORIGIN})
    assert r.status_code == 413


def test_reflected_username_is_escaped(env):
    app, factory, clock, sec = env
    c = app.test_client()
    r = login(c, '"><script>alert(1)</script>', "x")
    body = r.get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
    r = c.get('/login?next="><script>alert(2)</script>')
    assert "<script>alert(2)" not in r.get_data(as_text=True)
