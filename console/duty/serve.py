"""Run the console with the duty routes on a multi-threaded WSGI server (waitress).

    python -m console.duty.serve --db data/ankang.sqlite --port 8050 [--bare]

`--bare` serves only the duty API (no Dash pages), for the crash test and ingest benchmarks.
Until console/app.py registers `console.routes.ingest`, this is also how the duty page gets its feed.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sys

from flask import Flask


def security_settings(**overrides):
    """The console's security settings with POST /api/events public: it authenticates by the source's own key."""
    from dataclasses import replace

    from console.security.config import Settings

    base = Settings.from_env(**overrides)
    return replace(base, public_paths=tuple(base.public_paths) + ("/api/events",))


def build(db: str, bare: bool = False, sweep: bool = True) -> Flask:
    from console.routes import ingest
    from console.store import make_engine

    if bare:
        server = Flask("pingan_duty")
        ingest.register(server, make_engine(db, must_exist=True), sweep=sweep)
        return server
    from console.app import create_app
    from console.services.context import CONTEXT_KEY

    app = create_app(db, security_settings=security_settings())
    if "duty_post_event" not in app.server.view_functions:
        ingest.register(app.server, app.server.config[CONTEXT_KEY].engine, sweep=sweep)
    return app.server


def _die_with_parent() -> None:
    """Linux: this child gets SIGKILL when its parent dies (kill -9 of the server takes its workers with it)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def fork_workers(n: int) -> int:
    """Fork n-1 children before anything starts a thread; returns this process's worker number (0 = parent).
    All of them accept on the socket the caller bound before forking."""
    os.environ.setdefault("PINGAN_SECRET_KEY", secrets.token_hex(32))  # one signing key for every worker
    parent = os.getpid()
    for worker in range(1, n):
        if os.fork() == 0:
            _die_with_parent()
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return worker
    return 0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m console.duty.serve")
    ap.add_argument("--db", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8050)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("PINGAN_THREADS", "16")))
    ap.add_argument("--bare", action="store_true")
    ap.add_argument("--workers", type=int, default=int(os.environ.get("PINGAN_WORKERS", "1")),
                    help="processes sharing the port; their group-commit writers take turns through a file lock")
    ap.add_argument("--switch-interval", type=float, default=float(os.environ.get("PINGAN_SWITCH_INTERVAL", "0.005")),
                    help="GIL switch interval in seconds (default: Python's 0.005; 0.0005 measured no better here)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # waitress warns on every queued task once its threads are busy: a burst of log lines that costs CPU exactly
    # when there is none to spare. Queueing under load is normal here (requests wait for the group commit).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # The writer and the request threads hand the GIL back and forth around every SQLite call, socket write and
    # numba kernel; with the default 5 ms interval a thread that released it waits up to 5 ms to get it back.
    sys.setswitchinterval(args.switch_interval)
    from waitress import serve

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))  # waitress starts listening once the app is built: until then, refused
    worker = fork_workers(args.workers) if args.workers > 1 else 0
    app = build(args.db, args.bare, sweep=worker == 0)  # one sweeper for all workers
    if worker == 0:
        print(f"listening on http://{args.host}:{args.port} ({args.workers} worker(s))", flush=True)
    serve(app, sockets=[sock], threads=args.threads, connection_limit=1000, channel_timeout=30, backlog=2048,
          _quiet=True)


if __name__ == "__main__":
    main()
