"""Run the console with the duty routes on a multi-threaded WSGI server (waitress).

    python -m console.duty.serve --db data/ankang.sqlite --port 8050 [--bare]

`--bare` serves only the duty API (no Dash pages), for the crash test and ingest benchmarks.
Until console/app.py registers `console.routes.ingest`, this is also how the duty page gets its feed.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from flask import Flask


def security_settings(**overrides):
    """The console's security settings with POST /api/events public: it authenticates by the source's own key."""
    from dataclasses import replace

    from console.security.config import Settings

    base = Settings.from_env(**overrides)
    return replace(base, public_paths=tuple(base.public_paths) + ("/api/events",))


def build(db: str, bare: bool = False) -> Flask:
    from console.routes import ingest
    from console.store import make_engine

    if bare:
        server = Flask("pingan_duty")
        ingest.register(server, make_engine(db, must_exist=True), sweep=True)
        return server
    from console.app import create_app
    from console.services.context import CONTEXT_KEY

    app = create_app(db, security_settings=security_settings())
    if "duty_post_event" not in app.server.view_functions:
        ingest.register(app.server, app.server.config[CONTEXT_KEY].engine, sweep=True)
    return app.server


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m console.duty.serve")
    ap.add_argument("--db", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8050)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("PINGAN_THREADS", "16")))
    ap.add_argument("--bare", action="store_true")
    ap.add_argument("--switch-interval", type=float, default=float(os.environ.get("PINGAN_SWITCH_INTERVAL", "0.0005")),
                    help="GIL switch interval in seconds (Python's default 0.005 starves the writer thread)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # waitress warns on every queued task once its threads are busy: a burst of log lines that costs CPU exactly
    # when there is none to spare. Queueing under load is normal here (requests wait for the group commit).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # The writer and the request threads hand the GIL back and forth around every SQLite call, socket write and
    # numba kernel; with the default 5 ms interval a thread that released it waits up to 5 ms to get it back.
    sys.setswitchinterval(args.switch_interval)
    from waitress import serve

    print(f"listening on http://{args.host}:{args.port}", flush=True)
    serve(build(args.db, args.bare), host=args.host, port=args.port, threads=args.threads,
          connection_limit=1000, channel_timeout=30, backlog=2048, _quiet=True)


if __name__ == "__main__":
    main()
