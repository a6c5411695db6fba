"""benchmarks/scale_consoles.py in small: 5 logged-in consoles for 20 s on two console nodes (`python -m
console.server`, separate processes) on one PostgreSQL, through the real HTTP and Dash endpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install -e '.[test]'")
pytestmark = [pytest.mark.xdist_group("postgres"), pytest.mark.slow]  # ~40 s: two nodes start, then 20 s of load

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT / "benchmarks"))


def test_five_consoles_on_two_nodes_drill_toggle_and_poll_without_errors(postgres, monkeypatch):
    import sectest as testing
    from console_process import local_port
    from scale_consoles import _paths, _start_node, drive
    from tests.browser.tinyworld import build
    from tests.security_login import add_account

    monkeypatch.setenv("PINGAN_SECRET_KEY", "scale-consoles-test-" + "0" * 40)  # one signing key for both nodes
    url = postgres.create_database("consoles")
    build(url)
    accounts = [f"console_{i}" for i in range(5)]
    for name in accounts:
        add_account(url, name)
    paths = _paths(url)
    assert paths and all(len(p) == 3 for p in paths)
    ports = [local_port(), local_port()]
    nodes = [_start_node(url, p) for p in ports]
    try:
        out = drive([f"http://127.0.0.1:{p}" for p in ports], accounts, testing.STRONG, paths, minutes=20 / 60,
                    think=1.0)
    finally:
        for n in nodes:
            n.kill()
            n.wait()
    assert out["console_errors"] == 0, out["console_first_errors"]
    steps = out["console_steps_p95_ms"]
    assert {"login", "page", "drill", "layer", "feed"} <= set(steps), steps  # every kind of step ran and answered
    assert out["consoles"] == 5 and out["console_requests"] >= 5 * 10 and out["console_p95_ms"] > 0
