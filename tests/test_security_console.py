"""Security installed on the real console (`console.app.create_app`): every route behind the gate."""

import re

import pytest

import sectest as testing

testing.use_fast_hasher()
ORIGIN = "http://localhost"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """The real app on an empty database at schema head: the gate does not need a world."""
    from console.app import create_app
    from console.config import Settings as ConsoleSettings
    from console.store import make_engine, make_session_factory

    db = testing.migrated_db(tmp_path_factory.mktemp("console"))
    # create_app installs the gate itself (console.security.web.install); the test only picks the settings.
    app = create_app(db, settings=ConsoleSettings(warm_cache=False), security_settings=testing.settings(testing.Clock()))
    engine = make_engine(db)
    factory = make_session_factory(engine)
    testing.add_account(factory, "town_user", ["town"], ["610902001"])
    yield app
    engine.dispose()


def test_every_console_route_refuses_anonymous_requests(console):
    c = console.server.test_client()
    checked = 0
    for rule in console.server.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in ("/login", "/favicon.ico"):
            continue
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "1" if "int" in m.group(0) else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = c.open(url, method=method, json={} if method == "POST" else None, headers={"Origin": ORIGIN})
            assert r.status_code in (302, 401), (method, url, r.status_code)
            checked += 1
    assert checked >= 8
    assert c.get("/_dash-layout").status_code == 401
    assert c.post("/_dash-update-component", json={"output": "x.children"}, headers={"Origin": ORIGIN}).status_code == 401
    assert c.get("/api/layers/special.geojson?area=610902").status_code == 401


def test_login_then_console_pages_load(console):
    c = console.server.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": "town_user", "password": testing.STRONG, "csrf_token": token},
               headers={"Origin": ORIGIN})
    assert r.status_code == 303
    assert c.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert c.get("/_dash-layout").status_code == 200
    assert c.get("/_dash-dependencies").status_code == 200
    csp = c.get("/").headers["Content-Security-Policy"]
    assert "'unsafe-eval'" in csp and "default-src 'self'" in csp
