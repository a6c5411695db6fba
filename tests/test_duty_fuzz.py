"""Property tests (hypothesis) of the events API, both endpoints: a generated body never gets a 5xx, every 2xx item
is stored exactly as sent, every 4xx stores nothing (docs/duty.md, "校验"). Generators: tests/event_bodies.py."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duty_helpers import bare_app, make_source, world_copy
from event_bodies import Store, Tally, check_item, load_refs, raw_body

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
    store = Store(db, "test")
    yield {"client": client, "key": key, "refs": load_refs(db), "store": store, "used": [], "tally": Tally()}
    store.close()


def post(world, path: str, raw: bytes):
    r = world["client"].post(path, data=raw, content_type="application/json", headers={"X-API-Key": world["key"]})
    return r.status_code, json.loads(r.get_data())  # every answer is a JSON body, refusals included


@fuzz(200)
@given(data=st.data())
def test_generated_single_bodies(world, data):
    raw, body = data.draw(raw_body(world["refs"], world["used"]))
    store, tally = world["store"], world["tally"]
    before = store.count()
    status, answer = post(world, "/api/events", raw)
    check_item(store, world["refs"], body, status, answer, tally)
    assert store.count() - before == (1 if status == 201 else 0), (status, answer, raw[:300])
    assert tally.five_xx == 0 and tally.mismatch == 0, tally.problems
    if status == 201:
        world["used"].append(body["event_id"])


@fuzz(60)
@given(data=st.data())
def test_generated_batches(world, data):
    items = data.draw(st.lists(raw_body(world["refs"], world["used"]), min_size=1, max_size=5))
    store, tally = world["store"], world["tally"]
    before = store.count()
    status, answer = post(world, "/api/events/batch", b"[" + b", ".join(raw for raw, _ in items) + b"]")
    if any(body is None for _, body in items):  # one item is not JSON: the whole request is refused
        assert 400 <= status < 500 and answer["error"] and answer["reason"], answer
        assert store.count() == before
        return
    assert status == 200, answer
    results = answer["results"]
    assert len(results) == len(items)
    for (_raw, body), result in zip(items, results):
        check_item(store, world["refs"], body, result["status"], result, tally)
    assert store.count() - before == sum(1 for r in results if r["status"] == 201)
    assert tally.five_xx == 0 and tally.mismatch == 0, tally.problems
    world["used"].extend(body["event_id"] for (_r, body), res in zip(items, results) if res["status"] == 201)


def test_the_generated_bodies_reached_both_answers(world):
    """The generators are worth something only if both outcomes were common (runs after the two above)."""
    status = world["tally"].status
    print("answers by status:", dict(sorted(status.items())))
    assert sum(n for s, n in status.items() if s in (200, 201)) >= 50, status
    assert sum(n for s, n in status.items() if 400 <= s < 500) >= 100, status
