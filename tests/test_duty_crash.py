"""kill -9 during a burst of ingest: every 2xx'd event survives, its alert exists exactly once, replays add none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import func, select

from console.store import Alert, Event, make_engine, make_session_factory

from console_process import local_port, start_console
from duty_helpers import make_source, samples, world_copy

pytestmark = pytest.mark.slow
SCALE = Alert.rule == "dispute_scale"  # every burst event raises exactly this one (plus one repeated-in-grid)


def start(db: str, port: int, workers: int = 1, bare: bool = True, server: str = "granian") -> subprocess.Popen:
    return start_console(db, port, *(["--bare"] if bare else []), "--workers", str(workers), "--server", server,
                         ready="/api/alerts/changes?cursor=0")


NOW = datetime.now(timezone.utc).isoformat(timespec="seconds")  # inside the server's accepted window of times


def body(i: int, grid: str) -> dict:
    return {"event_id": f"burst-{i}", "type": "dispute_report", "occurred_at": NOW,
            "grid_code": grid, "payload": {"scale": 40, "category": "neighbour", "n": i}}


BATCH = 10  # events per request in the batch variant


@pytest.mark.parametrize("workers,server,batch", [(1, "granian", False), (2, "granian", False),
                                                  (2, "granian", True), (2, "waitress", False)])
def test_kill_minus_9_mid_burst_loses_nothing(small_world_db, tmp_path, workers, server, batch):
    db = world_copy(small_world_db, tmp_path)
    key = make_source(db)
    grid = samples(db)["grid"]
    port = local_port()
    url = f"http://127.0.0.1:{port}/api/events"
    proc = start(db, port, workers, server=server)
    acked: dict[int, int] = {}  # i -> event pk from the 2xx (in a batch: from the item's 2xx result)
    lock = threading.Lock()
    stop = threading.Event()

    def worker(offset: int):
        sess = requests.Session()
        i = offset
        step = BATCH if batch else 1
        while not stop.is_set():
            ids = [i + k * 8 for k in range(step)]
            try:
                if batch:
                    r = sess.post(url + "/batch", data=json.dumps([body(j, grid) for j in ids]), timeout=5,
                                  headers={"X-API-Key": key, "Content-Type": "application/json"})
                else:
                    r = sess.post(url, data=json.dumps(body(i, grid)), timeout=5,
                                  headers={"X-API-Key": key, "Content-Type": "application/json"})
            except requests.RequestException:
                return
            if r.status_code in (200, 201):
                try:
                    answer = r.json()
                except ValueError:  # killed mid-answer: the body was cut off, so the client got no answer
                    return
                results = answer["results"] if batch else [{"status": r.status_code, **answer}]
                with lock:
                    for j, item in zip(ids, results):
                        if item["status"] in (200, 201):
                            acked[j] = item["id"]
            i += 8 * step

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    while len(acked) < 200:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # with workers > 1 the children die with it (PR_SET_PDEATHSIG)
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 200

    sessions = make_session_factory(make_engine(db))
    with sessions() as s:
        stored = dict(s.execute(select(Event.source_event_id, Event.id).where(Event.source == "test")).all())
        for i, pk in acked.items():
            assert stored.get(f"burst-{i}") == pk, f"event {i} got a 2xx but is missing"
        per_event = dict(s.execute(select(Alert.event_id, func.count()).where(Alert.event_id.in_(stored.values()), SCALE)
                                   .group_by(Alert.event_id)).all())
        assert all(per_event.get(pk) == 1 for pk in stored.values()), "an event has no alert or two"

    proc = start(db, port, workers, server=server)  # restart: the port is free only if no worker survived
    # replay everything (a source retrying after the crash)
    try:
        sess = requests.Session()
        top = max(acked) + 16 * (BATCH if batch else 1)  # past every id that can have been in flight
        for i in range(top):
            r = sess.post(url, data=json.dumps(body(i, grid)),
                          headers={"X-API-Key": key, "Content-Type": "application/json"})
            assert r.status_code in (200, 201), r.text
            if i in acked:
                assert r.status_code == 200 and r.json()["id"] == acked[i]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    with sessions() as s:
        n_events = s.scalar(select(func.count()).select_from(Event).where(Event.source == "test"))
        n_alerts = s.scalar(select(func.count()).select_from(Alert).join(Event, Event.id == Alert.event_id)
                            .where(Event.source == "test", SCALE))
        repeated = s.scalar(select(func.count()).select_from(Alert).where(Alert.rule == "repeated_in_grid"))
        assert n_events == top and n_alerts == top and repeated == 1
