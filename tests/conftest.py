"""Shared fixtures. A small demo world is built once per test session (per xdist worker) and reused."""

from __future__ import annotations

import fcntl
import os
from datetime import date
from pathlib import Path

import pytest

AS_OF = date(2026, 11, 1)
SMALL_SCALE = 0.02
SEED = 7


# One fixed data key for the whole test run (every xdist worker and every subprocess inherits it, so the
# shared small world written by one worker decrypts in all). Never a real key: tests only.
TEST_DATA_KEY = "cGluZ2FuLXRlc3QtZGF0YS1rZXktMzItYnl0ZXMhISE="


def pytest_configure(config):
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))
    os.environ.pop("PINGAN_DATA_KEY_FILE", None)
    os.environ["PINGAN_DATA_KEY"] = TEST_DATA_KEY


@pytest.fixture(scope="session")
def small_world_db(tmp_path_factory, worker_id) -> str:
    """Path of a SQLite file holding a 2 % world (about 50,000 residents), built once per test run:
    xdist workers share it through a lock in the run's common temp folder. Treat it as read-only
    (copy it to write)."""
    from world.build import build_world, write_world

    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    path = shared / f"small-world-{SEED}-{SMALL_SCALE}.sqlite"
    with open(shared / "small-world.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            write_world(build_world(SEED, SMALL_SCALE, AS_OF), str(path))
    return str(path)


@pytest.fixture(scope="session")
def small_world_engine(small_world_db):
    from console.store import make_engine

    engine = make_engine(small_world_db, must_exist=True)
    yield engine
    engine.dispose()


# -- PostgreSQL (tests/pg.py) -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for this session (`.url(db)`, `.create_database(name, template=…)`).
    Skips when PostgreSQL is not installed, unless PINGAN_REQUIRE_POSTGRES=1 (CI), which makes that a failure."""
    from tests.pg import Unavailable, remove_cluster, start_cluster

    try:
        cluster = start_cluster()
    except Unavailable as exc:
        if os.environ.get("PINGAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (PINGAN_REQUIRE_POSTGRES=1) but unavailable: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield cluster
    remove_cluster(cluster)


# -- Logging in to the secured console. Helpers: tests/security_login.py ---------------------------
@pytest.fixture(scope="session")
def console_security_settings():
    """Security settings for a test console (pass as `create_app(..., security_settings=...)`)."""
    from tests.security_login import security_settings

    return security_settings()


@pytest.fixture(scope="session")
def console_login():
    """The login helpers: `.add_account(db, username, roles, scope)`, `.login_client(client, username)`,
    `.login_page(page, base_url, username)`; `.CITY_ROLES`/`.CITY_SCOPE` replace the old demo viewer."""
    import tests.security_login as helpers

    return helpers



@pytest.fixture()
def world_sessions(small_world_db, tmp_path):
    """A session factory on a private, writable copy of the small world."""
    import shutil

    from console.store import make_engine, make_session_factory

    path = tmp_path / "world-copy.sqlite"
    shutil.copy(small_world_db, path)
    engine = make_engine(str(path), must_exist=True)
    yield make_session_factory(engine)
    engine.dispose()
