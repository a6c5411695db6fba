"""Pin each server worker process to a core of its own (as nginx's `worker_cpu_affinity auto` does).

Why: at a few hundred events a second most of an ingest's CPU is not Python but hand-offs between threads — granian's
I/O thread, a request thread, the group-commit leader and its followers — each a futex wake-up, and on a virtual
machine a wake-up on another core is an inter-processor interrupt. With every thread of a worker on one core, those
wake-ups are local: at 500 events/s, 16 threads, runs interleaved, 0.475–0.58 → 0.43–0.49 ms of server CPU per event
(docs/scale.md, "Ingest: CPU per event"). One worker process cannot use much more than one core anyway (the GIL).

Cores are claimed machine-wide, not per server: a worker binds an abstract Unix socket named after the core, which
the kernel releases when the process dies (a respawned worker takes the freed core). So two console nodes on one
machine (tests, the benchmarks' two-node runs) get different cores, and once every allowed core is taken a worker
simply runs unpinned. Not pinned: a worker whose PostgreSQL runs on the same machine (its backends need those cores
too), anything off Linux, and everything with PINGAN_PIN_WORKERS=0.
"""

from __future__ import annotations

import os
import socket
import sys

_claim: socket.socket | None = None  # held for the life of the process: the claim is the bound name


def enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get("PINGAN_PIN_WORKERS", "1") != "0"


def database_server_here(db: str) -> bool:
    """Whether `db` (a path or a SQLAlchemy URL) names a database server on this machine (PostgreSQL on localhost
    or a Unix socket). Its backends then run on the same cores, and a pinned worker would keep to one of them
    while the backends it waits for run wherever the kernel puts them. A judgement, not a measurement: on the
    2-core benchmark box one node beside PostgreSQL sustained 1,340 events/s pinned and 1,335 unpinned."""
    if "://" not in db:
        return False  # a SQLite file: the database runs inside the worker
    from sqlalchemy.engine import make_url

    url = make_url(db)
    if url.get_backend_name() == "sqlite":
        return False
    host = url.host or url.query.get("host") or ""
    host = host[0] if isinstance(host, tuple) else host
    return host in ("", "localhost", "127.0.0.1", "::1") or host.startswith("/")


def pin_worker(prefix: str = "pingan-cpu", db: str | None = None) -> int | None:
    """Claim a free core among those this process may use and move every thread of the process onto it (threads
    started later inherit it). The core, or None when disabled, single-core, every core is claimed, or the
    database `db` is a server on this machine (`database_server_here`)."""
    global _claim
    if not enabled() or _claim is not None or (db is not None and database_server_here(db)):
        return None
    cores = sorted(os.sched_getaffinity(0), reverse=True)  # highest first: core 0 usually takes device interrupts
    if len(cores) < 2:
        return None
    for core in cores:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0{prefix}-{core}")
        except OSError:  # another worker on this machine holds it
            sock.close()
            continue
        _claim = sock
        _pin_all_threads({core})
        return core
    return None


def _pin_all_threads(cpus: set[int]) -> None:
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:  # a thread that ended meanwhile
            pass
