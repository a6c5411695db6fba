"""Fixtures for browser tests: one small world per session, a console server, headless Chromium.

The world is the lead's demo builder at a small scale when it works, else the tiny test world
(`PINGAN_TEST_WORLD=tiny` forces the latter). The console runs behind the security gate:
tests log in first (`logged_in_context`, or `tests.security_login.login_page`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.browser.tinyworld import build as build_tiny

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CONSOLE_USER = "browser_city"  # the account console browser tests log in as (see `logged_in_context`)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--lang=zh-CN"]
# The browser's own widgets (date-time pickers) follow the process locale, as on the offices' Chinese machines:
# Debian's chromium-l10n (scripts/system-deps.sh) and LANGUAGE (LANG stays C.UTF-8: zh_CN.UTF-8 is not generated
# here, and without it Chromium names a download with Chinese letters "download"); Playwright's `locale` alone
# leaves them in en-US.
CHROMIUM_ENV = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN:zh"}


@pytest.fixture(scope="session")
def world_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("world") / "world.sqlite"
    if os.environ.get("PINGAN_TEST_WORLD", "demo") == "demo":
        try:
            proc = subprocess.run([sys.executable, "-m", "world", "--db", str(path), "--scale", "0.02",
                                   "--seed", "7"], cwd=ROOT, capture_output=True, text=True, timeout=300)
            if proc.returncode == 0:
                return str(path)
        except subprocess.TimeoutExpired:
            pass
        for p in path.parent.glob("world.sqlite*"):
            p.unlink()
    return build_tiny(path)


@pytest.fixture(scope="session")
def console_url(world_db):
    from werkzeug.serving import make_server

    from console.app import create_app
    from console.config import Settings

    from tests.security_login import add_account, security_settings

    add_account(world_db, CONSOLE_USER)  # city-wide, every console permission but unmask
    app = create_app(world_db, settings=Settings(warm_cache=False), security_settings=security_settings())
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")  # not session: a live sync Playwright blocks other modules' own instances
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=CHROMIUM_ENV)
        yield browser
        browser.close()


@pytest.fixture()
def logged_in_context(chromium, console_url):
    """A fresh browser context logged in to the console as CONSOLE_USER (through the login form)."""
    from tests.security_login import login_page

    context = chromium.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    login_page(page, console_url, CONSOLE_USER)
    page.close()
    yield context
    context.close()


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser (or the desktop window): one folder, one marker."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
