"""Worker pinning (console.affinity): each worker process on a core of its own, claimed machine-wide."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
                                reason="pinning is Linux-only and needs two cores")

CHILD = textwrap.dedent("""
    import json, os, sys, threading, time
    from console.affinity import pin_worker
    before = threading.Thread(target=time.sleep, args=(1,))
    before.start()                      # a thread that exists before the pin is moved too
    core = pin_worker(sys.argv[1])
    after = set()
    t = threading.Thread(target=lambda: after.update(os.sched_getaffinity(0)))
    t.start(); t.join()                 # a thread started after the pin inherits it
    tids = os.listdir("/proc/self/task")
    masks = {frozenset(os.sched_getaffinity(int(tid))) for tid in tids}
    print(json.dumps([core, sorted(after), sorted(sorted(m) for m in masks)]), flush=True)
    sys.stdin.readline()                # hold the claim until told to go
""")


def _start(prefix, env=None):
    return subprocess.Popen([sys.executable, "-c", CHILD, prefix], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})}, cwd=os.path.dirname(os.path.dirname(__file__)))


def _result(proc):
    return json.loads(proc.stdout.readline())


def test_workers_take_distinct_cores_and_every_thread_follows():
    prefix = f"pingan-test-cpu-{os.getpid()}"
    cores = sorted(os.sched_getaffinity(0), reverse=True)
    procs = [_start(prefix) for _ in range(len(cores) + 1)]
    try:
        results = [_result(p) for p in procs]
        pinned = [r for r in results if r[0] is not None]
        assert sorted(r[0] for r in pinned) == sorted(cores)  # one worker per core, none shared
        for core, after, masks in pinned:
            assert after == [core] and masks == [[core]]  # every thread, before and after the pin
        spare = [r for r in results if r[0] is None]
        assert len(spare) == 1 and spare[0][2] == [sorted(cores)]  # all cores claimed: runs unpinned
    finally:
        for p in procs:
            p.communicate("\n")
    # the claims die with their processes: a new worker finds a core again (as a respawned one does)
    again = _start(prefix)
    try:
        assert _result(again)[0] == cores[0]
    finally:
        again.communicate("\n")


def test_switched_off_by_the_environment():
    proc = _start(f"pingan-test-cpu-off-{os.getpid()}", {"PINGAN_PIN_WORKERS": "0"})
    try:
        core, _after, masks = _result(proc)
        assert core is None and masks == [sorted(os.sched_getaffinity(0))]
    finally:
        proc.communicate("\n")


@pytest.mark.parametrize("db, here", [
    ("data/ankang.sqlite", False),
    ("sqlite:////var/lib/pingan/ankang.sqlite", False),
    ("postgresql+psycopg://pingan@localhost/ankang", True),
    ("postgresql+psycopg://pingan@127.0.0.1:5433/ankang", True),
    ("postgresql+psycopg://pingan@/ankang?host=/var/run/postgresql", True),
    ("postgresql+psycopg://pingan@db-primary.zzzx.local/ankang", False),
    ("postgresql+psycopg://pingan@10.61.9.20:5432/ankang", False),
])
def test_a_worker_whose_postgresql_runs_on_this_machine_is_not_pinned(db, here):
    from console.affinity import database_server_here

    assert database_server_here(db) is here
