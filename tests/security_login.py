"""Logging tests in to the secured console: accounts in the test database, Flask test clients,
Playwright pages. Fixtures in `tests/conftest.py` wrap these; import them directly where a fixture does not fit."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import sectest as testing
from console.store import make_engine, make_session_factory
from console.store.codes import CITY_CODE

ORIGIN = "http://localhost"  # what the Flask test client's requests come from
PASSWORD = testing.STRONG

# The role and scope that the console's tests used to get from the old demo viewer: every console
# permission except unmask, city-wide (县区 role = 市 data permissions minus unmask, plus persons and cases).
CITY_ROLES = ("county",)
CITY_SCOPE = (CITY_CODE,)


def security_settings(**kw):
    """Security settings for a test console: fixed clock, fixed key, no login rate limit across tests, and no
    concurrent-session limit (module-scoped worlds log the same account in from many clients)."""
    testing.use_fast_hasher()
    kw.setdefault("max_sessions_per_account", 10_000)
    return testing.settings(testing.Clock(), login_rate_burst=10_000, **kw)


def add_account(db_or_factory, username: str, roles=CITY_ROLES, scope=CITY_SCOPE, **kw) -> str:
    """Create (once) an active account with these roles and area scope; returns the username."""
    testing.use_fast_hasher()
    engine = None
    factory = db_or_factory
    if isinstance(db_or_factory, str) or hasattr(db_or_factory, "__fspath__"):
        engine = make_engine(str(db_or_factory), must_exist=True)
        factory = make_session_factory(engine)
    try:
        from sqlalchemy import select

        from console.store.security_models import Account

        with factory() as s:
            if s.scalar(select(Account.id).where(Account.username == username)) is None:
                testing.add_account(factory, username, list(roles), list(scope), **kw)
    finally:
        if engine is not None:
            engine.dispose()
    return username


def login_client(client, username: str, password: str = PASSWORD) -> str:
    """Log a Flask test client in through POST /login; returns the CSRF token for state-changing requests
    (send it as ``X-CSRFToken`` with ``Origin: http://localhost``)."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                    headers={"Origin": ORIGIN})
    assert r.status_code == 303, (username, r.status_code, r.get_data(as_text=True)[:300])
    cookie = client.get_cookie("_csrf_token")
    return cookie.value if cookie else ""


def login_page(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log a Playwright page (and so its browser context) in through the login form."""
    page.goto(base_url + "/login")
    page.fill("#u", username)
    page.fill("#p", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"login failed for {username}: {page.url}"


@contextmanager
def console_on_copy(template: str, folder, accounts):
    """A console (behind the login gate) serving a private copy of `template` on a free local port.

    `accounts`: (username, roles, scope) to create. Yields (base URL, session factory of the copy)."""
    import shutil
    import threading

    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings

    db = Path(folder) / "w.sqlite"
    shutil.copy(template, db)
    for username, roles, scope in accounts:
        add_account(str(db), username, list(roles), list(scope))
    app = create_app(str(db), settings=Settings(warm_cache=False), security_settings=security_settings())
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    engine = make_engine(str(db), must_exist=True)
    try:
        yield f"http://127.0.0.1:{server.server_port}", make_session_factory(engine)
    finally:
        server.shutdown()
        engine.dispose()
