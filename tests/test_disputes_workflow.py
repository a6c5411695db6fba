"""The state machine: every allowed and every refused transition, parametrised from the one table."""

from __future__ import annotations

import itertools

import pytest

from console.disputes import workflow
from console.security.roles import permissions_for
from console.store.codes import DISPUTE_STATES

ALLOWED = [(s, t.action) for t in workflow.TRANSITIONS for s in t.sources]
REFUSED = [(s, t.action) for s, t in itertools.product(DISPUTE_STATES, workflow.TRANSITIONS) if s not in t.sources]
FULL = {"note": "说明", "level": "town", "department": "司法所", "outcome": "达成协议", "satisfaction": "satisfied"}


@pytest.mark.parametrize("state,action", ALLOWED)
def test_allowed(state, action):
    t = workflow.check(state, action, None, FULL)
    assert t.target in DISPUTE_STATES
    assert (state, t.target) in workflow.allowed_pairs()
    assert t in workflow.actions_from(state)


@pytest.mark.parametrize("state,action", REFUSED)
def test_refused(state, action):
    with pytest.raises(workflow.TransitionError, match="不能执行"):
        workflow.check(state, action, None, FULL)
    assert workflow.BY_ACTION[action] not in workflow.actions_from(state)


@pytest.mark.parametrize("t", [t for t in workflow.TRANSITIONS if t.requires], ids=lambda t: t.action)
def test_required_fields(t):
    with pytest.raises(workflow.TransitionError, match="需要填写"):
        workflow.check(t.sources[0], t.action, None, {})


@pytest.mark.parametrize("t", workflow.TRANSITIONS, ids=lambda t: t.action)
def test_permission(t):
    others = permissions_for(["grid_worker"]) if t.permission != "dispute:register" else frozenset()
    if t.permission not in others:
        with pytest.raises(workflow.TransitionError, match="无权限"):
            workflow.check(t.sources[0], t.action, others, FULL)
    workflow.check(t.sources[0], t.action, permissions_for(["dispute_handler"]), FULL)


def test_unknown_state_and_action():
    with pytest.raises(workflow.TransitionError, match="未知状态"):
        workflow.check("lost", "accept")
    with pytest.raises(workflow.TransitionError, match="未知操作"):
        workflow.check("registered", "teleport")


def test_every_state_reachable_and_archived_final():
    reach = {workflow.INITIAL_STATE}
    frontier = [workflow.INITIAL_STATE]
    while frontier:
        s = frontier.pop()
        for t in workflow.actions_from(s):
            if t.target not in reach:
                reach.add(t.target)
                frontier.append(t.target)
    assert reach == set(DISPUTE_STATES)
    assert workflow.actions_from("archived") == []


@pytest.mark.parametrize("steps,ok", [
    (["registered", "accepted", "assigned", "mediating", "resolved", "feedback", "revisited", "archived"], True),
    (["registered", "accepted", "assigned", "mediating", "unresolved", "escalated", "mediating", "referred"], True),
    (["registered", "assigned"], False), (["accepted"], False), ([], False),
])
def test_history(steps, ok):
    assert workflow.is_history_valid(steps) is ok


def test_demo_histories_follow_the_machine():
    """Every workflow path the demo world generates is accepted."""
    from datetime import datetime

    import numpy as np

    from world.cases import _history

    rng = np.random.default_rng(3)
    for i in range(3000):
        cx = ("simple", "ordinary", "complex", "mediation")[i % 4]
        steps, _ = _history(rng, datetime(2025, 11, 1), cx, i % 3 == 0, datetime(2026, 11, 26))
        assert workflow.is_history_valid([s for s, _ in steps])
