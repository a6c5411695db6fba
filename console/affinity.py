"""Pin each server worker process to a core of its own (as nginx's `worker_cpu_affinity auto` does).

Why: at a few hundred events a second most of an ingest's CPU is not Python but hand-offs between threads — granian's
I/O thread, a request thread, the group-commit leader and its followers — each a futex wake-up, and on a virtual
machine a wake-up on another core is an inter-processor interrupt. With every thread of a worker on one core, those
wake-ups are local: at 500 events/s, 16 threads, runs interleaved, 0.475–0.58 → 0.43–0.49 ms of server CPU per event
(docs/scale.md, "Ingest: CPU per event"). One worker process cannot use much more than one core anyway (the GIL).

Cores are claimed machine-wide, not per server: a worker binds an abstract Unix socket named after the core, which
the kernel releases when the process dies (a respawned worker takes the freed core). So two console nodes on one
machine (tests, the benchmarks' two-node runs) get different cores, and once every allowed core is taken a worker
simply runs unpinned. Linux only; elsewhere, or with PINGAN_PIN_WORKERS=0, nothing is pinned.
"""

from __future__ import annotations

import os
import socket
import sys

_claim: socket.socket | None = None  # held for the life of the process: the claim is the bound name


def enabled() -> bool:
    return sys.platform.startswith("linux") and os.environ.get("PINGAN_PIN_WORKERS", "1") != "0"


def pin_worker(prefix: str = "pingan-cpu") -> int | None:
    """Claim a free core among those this process may use and move every thread of the process onto it (threads
    started later inherit it). The core, or None when disabled, single-core, or every core is claimed."""
    global _claim
    if not enabled() or _claim is not None:
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
