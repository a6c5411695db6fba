"""`python -m console.server` on granian (the default): the full console behind its login gate, with two
worker processes; a second server on the same port is refused; one sweeper per database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
import requests

import sectest as testing
from tests.security_login import add_account

from duty_helpers import make_source, samples, world_copy
from console_process import local_port
from test_duty_crash import start

pytestmark = pytest.mark.slow


def test_full_console_serves_login_pages_feed_and_ingest_under_granian(small_world_db, tmp_path):
    db = world_copy(small_world_db, tmp_path)
    key = make_source(db)
    add_account(db, "duty_serve", roles=("duty_officer",), scope=("610900",))
    port = local_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(db, port, workers=2, bare=False)
    try:
        web = requests.Session()
        assert web.get(base + "/api/alerts/changes?cursor=0", timeout=30).status_code == 401  # no session yet
        form = web.get(base + "/login", timeout=30)
        assert form.status_code == 200 and form.headers["server"] == "granian"
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        r = web.post(base + "/login", data={"username": "duty_serve", "password": testing.STRONG, "csrf_token": token},
                     headers={"Origin": base}, allow_redirects=False, timeout=30)
        assert r.status_code == 303, r.text[:300]
        cursor = web.get(base + "/api/alerts/changes?cursor=0", timeout=30).json()["cursor"]
        page = web.get(base + "/duty", timeout=60)
        assert page.status_code == 200 and "_dash-config" in page.text  # the Dash shell of the duty page
        event = {"event_id": "serve-1", "type": "dispute_report", "occurred_at": datetime.now(timezone.utc).isoformat(),
                 "grid_code": samples(db)["grid"], "payload": {"scale": 40, "category": "neighbour"}}
        posted = requests.post(base + "/api/events", data=json.dumps(event), timeout=30,
                               headers={"X-API-Key": key, "Content-Type": "application/json"})
        assert posted.status_code == 201 and len(posted.json()["alerts"]) == 1
        assert posted.headers["X-Content-Type-Options"] == "nosniff"
        # whichever worker answers the feed sees the alert the other (or the same) worker committed
        for _ in range(4):
            feed = web.get(base + f"/api/alerts/changes?cursor={cursor}", timeout=30).json()
            assert posted.json()["alerts"][0] in [a["id"] for a in feed["alerts"]]
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_second_server_on_a_busy_port_is_refused(small_world_db, tmp_path):
    db = world_copy(small_world_db, tmp_path)
    port = local_port()
    proc = start(db, port)
    try:
        second = subprocess.run([sys.executable, "-m", "console.server", "--db", db, "--port", str(port),
                                 "--bare"], capture_output=True, text=True, timeout=60)
        assert second.returncode != 0 and "已被占用" in second.stderr
    finally:
        proc.terminate()
        proc.wait(30)


def test_one_sweeper_per_database(small_world_db, tmp_path, monkeypatch):
    from flask import Flask

    from console.duty import sweeper
    from console.routes import ingest
    from console.store import make_engine

    db = world_copy(small_world_db, tmp_path)
    swept = []
    monkeypatch.setattr(sweeper, "sweep_once", lambda ingestor, steps=(): swept.append(ingestor))
    first = ingest.register(Flask("a"), make_engine(db), sweep=True)
    deadline = time.monotonic() + 30
    while not swept and time.monotonic() < deadline:
        time.sleep(0.05)
    second = ingest.register(Flask("b"), make_engine(db), sweep=True)  # waits for the first one's lock
    time.sleep(1.0)
    assert swept and set(map(id, swept)) == {id(first)} and second is not first
