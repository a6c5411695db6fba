"""Login in a real headless Chromium: login page → (forced change) → Dash page whose callbacks pass the gate.

Proves the pieces a unit test cannot: the CSP lets Dash run, dash-renderer sends the `_csrf_token`
cookie back as X-CSRFToken, the Origin check accepts same-origin fetches, and nothing loads off-host.
"""

import threading

import pytest
from werkzeug.serving import make_server

import sectest as testing
from console.security.web import install

pytestmark = pytest.mark.browser
testing.use_fast_hasher()


def _mini_dash(factory):
    import dash
    from dash import Input, Output, dcc, html

    from console.security.web import current_viewer

    app = dash.Dash(__name__, serve_locally=True)
    app.layout = html.Div([dcc.Input(id="q", value=""), html.Div(id="out")])

    @app.callback(Output("out", "children"), Input("q", "value"))
    def echo(value):
        return f"{current_viewer().username}:{value}"

    install(app.server, factory, testing.settings(_RealClock()))
    return app


class _RealClock:
    def __call__(self):
        from console.security.config import utcnow

        return utcnow()


@pytest.fixture
def served(tmp_path):
    engine, factory = testing.store(tmp_path)
    testing.add_account(factory, "browser_user", ["town"], ["610902001"], must_change=True,
                        now=_RealClock()())
    app = _mini_dash(factory)
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    engine.dispose()


def test_login_and_dash_callbacks_in_chromium(served):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        off_host, csp_errors = [], []
        page.on("request", lambda r: off_host.append(r.url) if not r.url.startswith(served) else None)
        page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(served + "/")
        assert "/login" in page.url
        page.fill("#u", "browser_user")
        page.fill("#p", "wrong-password")
        page.click("button[type=submit]")
        assert "用户名或密码错误" in page.content()
        page.fill("#u", "browser_user")
        page.fill("#p", testing.STRONG)
        page.click("button[type=submit]")
        page.wait_for_url("**/password**")
        page.fill("#o", testing.STRONG)
        page.fill("#n", "Chromium#2026")
        page.fill("#c", "Chromium#2026")
        page.click("button[type=submit]:has-text('修改密码')")
        page.wait_for_selector("#q", timeout=15000)
        page.fill("#q", "hello")
        page.wait_for_function("document.getElementById('out').innerText === 'browser_user:hello'", timeout=15000)
        cookies = {c["name"]: c for c in page.context.cookies()}
        assert cookies["pingan_session"]["httpOnly"] and cookies["pingan_session"]["sameSite"] == "Strict"
        browser.close()
    assert off_host == [] and csp_errors == []
