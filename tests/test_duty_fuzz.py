"""Property tests (hypothesis) of the events API, both endpoints: a generated body never gets a 5xx, every 2xx item
is stored exactly as sent, every 4xx stores nothing (docs/duty.md, "校验"). Generators: tests/event_bodies.py."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duty_helpers import bare_app, make_source, world_copy
from event_bodies import Store, Tally, exercise, load_refs, raw_body

# The last test reads the tally the first two filled: all three must run in one worker (`--dist loadfile`, Makefile).
pytestmark = pytest.mark.xdist_group("duty-fuzz")


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def world(small_world_db, tmp_path_factory):
    db = world_copy(small_world_db, tmp_path_factory.mktemp("duty-fuzz"))
    key = make_source(db)
    fsync = os.environ.get("PINGAN_DUTY_FSYNC")
    os.environ["PINGAN_DUTY_FSYNC"] = "0"  # thousands of commits: durability is not what is tested here
    try:
        client = bare_app(db).test_client()
    finally:
        if fsync is None:
            os.environ.pop("PINGAN_DUTY_FSYNC")
        else:
            os.environ["PINGAN_DUTY_FSYNC"] = fsync

    def post(path: str, raw: bytes):
        r = client.post(path, data=raw, content_type="application/json", headers={"X-API-Key": key})
        try:
            return r.status_code, json.loads(r.get_data())  # every answer is JSON, refusals included
        except ValueError:
            return r.status_code, None

    store = Store(db, "test")
    yield {"post": post, "refs": load_refs(db), "store": store, "used": [], "tally": Tally()}
    store.close()


def run(world, items, batch: bool) -> None:
    tally = world["tally"]
    exercise(world["post"], world["store"], world["refs"], items, batch, tally, world["used"])
    assert tally.five_xx == 0 and tally.mismatch == 0, tally.problems


@fuzz(200)
@given(data=st.data())
def test_generated_single_bodies(world, data):
    run(world, [data.draw(raw_body(world["refs"], world["used"]))], batch=False)


@fuzz(60)
@given(data=st.data())
def test_generated_batches(world, data):
    run(world, data.draw(st.lists(raw_body(world["refs"], world["used"]), min_size=1, max_size=5)), batch=True)


def test_the_generated_bodies_reached_both_answers(world):
    """The generators are worth something only if both outcomes were common (runs after the two above)."""
    status = world["tally"].status
    print("answers by status:", dict(sorted(status.items())))
    assert sum(n for s, n in status.items() if s in (200, 201)) >= 50, status
    assert sum(n for s, n in status.items() if 400 <= s < 500) >= 100, status
