"""Where batch tasks run: a Dask cluster (local processes by default, or a scheduler by address), or this process.

`run_tasks` submits one task per partition, broadcasts the shared inputs (the grid index, a cube) to every
worker once with `client.scatter(broadcast=True)`, and collects the results as they finish. Dask reruns the
tasks of a worker that dies (the nanny starts a new one); tasks are pure, so a rerun changes nothing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence

N_WORKERS = 2  # the dev box and a typical intranet node have 2-4 cores; threads_per_worker=1 (numba, SQLite)


@contextlib.contextmanager
def open_client(address: str | None = None, n_workers: int = N_WORKERS) -> Iterator:
    """A dask.distributed Client: on the scheduler at `address` (tcp://host:8786), else on a new LocalCluster of
    `n_workers` processes with one thread each (closed on exit)."""
    from distributed import Client, LocalCluster

    if address:
        with Client(address, timeout="30s") as client:
            yield client
        return
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), ".numba_cache"))  # the workers share the compiled engine
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def run_tasks(client, fn: Callable, parts: Sequence, *, shared: dict | None = None,
              on_result: Callable | None = None) -> list:
    """[fn(part, **shared) for part in parts], on `client` (None: in this process). Results come back in the
    order of `parts`. `on_result(done, total)` is called as results arrive (progress; the tests kill a worker
    from it)."""
    shared = dict(shared or {})
    total = len(parts)
    if client is None:
        out = []
        for i, part in enumerate(parts):
            out.append(fn(part, **shared))
            if on_result:
                on_result(i + 1, total)
        return out
    from distributed import as_completed

    # hash=False: a fresh key per run. With the default content hash two runs sharing a value (the same db_url)
    # share one key, and the first run's release could drop it under the second: "lost dependencies".
    scattered = {k: client.scatter(v, broadcast=True, hash=False) for k, v in shared.items()}
    futures = [client.submit(fn, part, **scattered, pure=False, key=f"{fn.__name__}-{i}-{os.getpid()}-{id(parts)}")
               for i, part in enumerate(parts)]
    position = {f.key: i for i, f in enumerate(futures)}
    out: list = [None] * total
    done = 0
    for fut in as_completed(futures):
        out[position[fut.key]] = fut.result()
        fut.release()
        done += 1
        if on_result:
            on_result(done, total)
    return out


def _warm() -> int:
    """Import the engine and load its compiled kernels (numba cache) in a worker."""
    import numpy as np
    from shapely.geometry import box

    from geodata.assign import PolygonIndex

    idx = PolygonIndex.build(["a", "b"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    x = np.linspace(-1.0, 3.0, 120_000)
    return int((idx.locate(x, np.full_like(x, 0.5)) >= 0).sum())


def warm_up(client) -> None:
    """Every worker imports the engine and loads its kernels before a timed job (benchmarks)."""
    client.run(_warm)
