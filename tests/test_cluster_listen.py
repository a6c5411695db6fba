"""console/services/cluster: a node's cache-invalidation listener while its PostgreSQL is away — it keeps trying,
logs the whole story once per outage and then a line now and then, not a traceback every two seconds."""

from __future__ import annotations

import logging
import threading
import time
from types import SimpleNamespace

from console.services import cluster


class _Down(Exception):
    pass


def _start(monkeypatch, raw_connection, drop_all) -> SimpleNamespace:
    """A PostgreSQL node's listener on a fake driver (`raw_connection`), retrying at once."""
    ctx = SimpleNamespace(engine=SimpleNamespace(dialect=SimpleNamespace(name="postgresql"),
                                                 raw_connection=raw_connection))
    monkeypatch.setattr(cluster, "RETRY_SECONDS", 0.001)
    monkeypatch.setattr(cluster, "status", lambda ctx: {"node": "n1", "database": "postgresql",
                                                       "spatial_label": "WKB"})
    cluster.start(ctx, {}, drop_all)
    return ctx


def test_an_outage_is_logged_once_in_full_then_now_and_then(monkeypatch, caplog):
    attempts, parked, mine = [], threading.Event(), set()

    def raw_connection():
        mine.add(threading.get_ident())  # this listener's thread: others left by earlier tests log too
        attempts.append(time.monotonic())
        if len(attempts) > 2 * cluster.REPEAT_EVERY + 5:
            parked.set()
            threading.Event().wait()  # park the daemon thread: the test has seen enough
        raise _Down("connection refused\nIs the server running locally?")

    with caplog.at_level(logging.WARNING, logger=cluster.log.name):
        ctx = _start(monkeypatch, raw_connection, lambda: None)
        assert parked.wait(10)
    lines = [r for r in caplog.records if "缓存失效监听" in r.getMessage() and r.thread in mine]
    assert len(mine) == 1 and len(lines) == 3  # the first failure in full, then after 30 and 60 failed reconnections
    assert lines[0].exc_info is not None and all(r.exc_info is None for r in lines[1:])
    assert lines[1].getMessage() == "缓存失效监听仍未恢复（已重连 30 次）：connection refused"
    assert not ctx.listening.is_set()


def test_a_listener_back_after_an_outage_says_so_and_drops_what_it_may_have_missed(monkeypatch, caplog):
    attempts, listening, dropped, mine = [], threading.Event(), [], set()

    class Conn:
        autocommit = False

        def execute(self, sql):
            assert sql == f"LISTEN {cluster.CHANNEL}"

        def notifies(self):
            listening.set()
            threading.Event().wait()  # no notification ever comes
            return iter(())

    def raw_connection():
        mine.add(threading.get_ident())
        attempts.append(1)
        if len(attempts) <= 2:
            raise _Down("connection refused")
        return SimpleNamespace(driver_connection=Conn(), detach=lambda: None)

    with caplog.at_level(logging.WARNING, logger=cluster.log.name):
        ctx = _start(monkeypatch, raw_connection, lambda: dropped.append(True))
        assert listening.wait(10)
    assert ctx.listening.is_set() and dropped == [True]  # caches emptied: invalidations may have been missed
    said = [r.getMessage() for r in caplog.records if "缓存失效监听" in r.getMessage() and r.thread in mine]
    assert said[-1] == "缓存失效监听已恢复（重连 2 次）"
