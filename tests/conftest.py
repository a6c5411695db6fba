"""Shared fixtures. A small demo world is built once per test session (per xdist worker) and reused."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

AS_OF = date(2026, 11, 1)
SMALL_SCALE = 0.02
SEED = 7


def pytest_configure(config):
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))


@pytest.fixture(scope="session")
def small_world_db(tmp_path_factory) -> str:
    """Path of a SQLite file holding a 2 % world (about 50,000 residents)."""
    from geodata.demo.build import build_world, write_world

    path = tmp_path_factory.mktemp("world") / "small.sqlite"
    write_world(build_world(SEED, SMALL_SCALE, AS_OF), str(path))
    return str(path)


@pytest.fixture(scope="session")
def small_world_engine(small_world_db):
    from console.store import make_engine

    engine = make_engine(small_world_db, must_exist=True)
    yield engine
    engine.dispose()
