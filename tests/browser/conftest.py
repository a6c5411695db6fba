"""Fixtures for browser tests: one small world per session, a console server, headless Chromium.

The world is the lead's demo builder at a small scale when it works, else the tiny test world
(`PINGAN_TEST_WORLD=tiny` forces the latter)."""

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
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def world_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("world") / "world.sqlite"
    if os.environ.get("PINGAN_TEST_WORLD", "demo") == "demo":
        try:
            proc = subprocess.run([sys.executable, "-m", "geodata.demo", "--db", str(path), "--scale", "0.02",
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

    app = create_app(world_db, settings=Settings(warm_cache=False))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")  # not session: a live sync Playwright blocks other modules' own instances
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
