"""Run the console with the duty routes on a multi-threaded WSGI server (granian by default, waitress as fallback).

    python -m console.server --db data/ankang.sqlite --port 8050 [--bare] [--workers N] [--server granian|waitress]
        [--tls-cert cert.pem --tls-key key.pem]

TLS (intranet browsers): `--tls-cert`/`--tls-key` (or PINGAN_TLS_CERT/PINGAN_TLS_KEY) make granian serve HTTPS (TLS
1.2 and up) and turn on Secure cookies and HSTS (PINGAN_SECURE_COOKIE=1 for every worker). waitress has no TLS:
put it behind a TLS-terminating proxy and set PINGAN_SECURE_COOKIE=1 yourself (docs/security.md §5).

`--bare` serves only the duty API (no Dash pages), for the crash test and ingest benchmarks.
The console's second entry point beside launcher.py (the desktop window): this one is for the intranet.

granian (Rust HTTP/1 parsing and I/O; the WSGI app runs on `--threads` Python threads per worker) measured about
half the server CPU per event of waitress, whose pure-Python HTTP handling was the biggest single cost. Both
servers run the same Flask app built by `build()`, in each worker process after the fork: every worker has its
own group-commit writer, and the writers take turns through a file lock (console.duty.writer), so "committed
before the 2xx" holds across workers. Every worker dies with the main process (kill -9 of the server leaves no
worker holding the port or the database), and exactly one worker at a time runs the background sweeper.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import secrets
import signal
import socket
import sys

from flask import Flask

from console.affinity import pin_worker
from console.duty.writer import company_for
from console.ports import port_free

SERVERS = ("granian", "waitress")


def default_workers() -> int:
    """Worker processes unless --workers says otherwise: PINGAN_WORKERS, else 1. On SQLite one process is the
    cheaper choice: one writer, no file lock between writers, and one stream of events whose commits group
    (docs/scale.md, "Ingest: CPU per event"); more processes add request handling for PostgreSQL nodes."""
    return int(os.environ.get("PINGAN_WORKERS", "1"))


def default_threads() -> int:
    """Request threads per worker unless --threads says otherwise: PINGAN_THREADS, else 16. Every request holds its
    thread until its event is committed, and the duty writer commits a stream's events ~10 at a time
    (`duty.writer`, `company`), so a stream keeps about 10 threads waiting at any rate from ~500/s up; 16 leaves
    room for the pages and bursts. Fewer threads make the server ask for a smaller company (`company_for`), which
    costs CPU per event (8 threads, batches of 2: 0.45–0.57 ms at 500/s against 0.33–0.40 with 16; docs/scale.md,
    "Ingest: CPU per event")."""
    return int(os.environ.get("PINGAN_THREADS", "16"))


def security_settings(**overrides):
    """The console's security settings with POST /api/events public: it authenticates by the source's own key."""
    from dataclasses import replace

    from console.security.config import Settings

    base = Settings.from_env(**overrides)
    return replace(base, public_paths=tuple(base.public_paths) + ("/api/events", "/api/events/batch"))


def build(db: str, bare: bool = False, sweep: bool = True) -> Flask:
    """The WSGI app. `sweep=True` starts the background sweeper (it runs in one process at a time, see
    `console.duty.sweeper.start_sweeper`)."""
    from console.routes import ingest
    from console.store import make_engine

    if bare:
        from console.config import Settings as ConsoleSettings

        limits = ConsoleSettings.from_env()  # PINGAN_INGEST_PER_MINUTE, as in the full console
        server = Flask("pingan_duty")
        ingest.register(server, make_engine(db, must_exist=True), sweep=sweep, per_minute=limits.ingest_per_minute,
                        burst=limits.ingest_burst)
        return server
    from console.app import create_app
    from console.services.context import CONTEXT_KEY

    app = create_app(db, security_settings=security_settings())
    if "pingan_duty_ingest" not in app.server.extensions:
        ingest.register(app.server, app.server.config[CONTEXT_KEY].engine, sweep=sweep)
    return app.server


def _die_with_parent(parent: int) -> None:
    """Linux: this child gets SIGKILL when its parent dies (kill -9 of the server takes its workers with it).
    If the parent died before prctl took effect, exit now."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def fork_workers(n: int) -> int:
    """waitress: fork n-1 children before anything starts a thread; returns this process's worker number
    (0 = parent). All of them accept on the socket the caller bound before forking."""
    parent = os.getpid()
    for worker in range(1, n):
        if os.fork() == 0:
            _die_with_parent(parent)
            return worker
    return 0


def buffered(app, limit: int = 256 * 1024):
    """WSGI middleware: a response whose Content-Length is at most `limit` goes back as one bytes object in a list.
    granian sends a list in one call; any other iterable it drains chunk by chunk through its runtime, which
    profiled as ~20 % of the server's GIL time for the ingest answers (a few dozen bytes each)."""

    def wsgi(environ, start_response):
        length = []

        def start(status, headers, exc_info=None):
            length[:] = [v for k, v in headers if k.lower() == "content-length"]
            return start_response(status, headers, exc_info)

        out = app(environ, start)
        if isinstance(out, list) or not length or int(length[0]) > limit:
            return out
        try:
            return [b"".join(out)]
        finally:
            if hasattr(out, "close"):
                out.close()

    return wsgi


def _worker_app(db: str, bare: bool, parent: int, switch_interval: float) -> Flask:
    """granian: runs in each worker process (after the fork) and returns the app it serves."""
    _die_with_parent(parent)
    sys.setswitchinterval(switch_interval)
    logging.basicConfig(level=logging.WARNING)
    core = pin_worker(db=db)  # before granian starts its threads, so they all inherit the core
    if core is not None:
        logging.getLogger(__name__).info("worker %d pinned to core %d", os.getpid(), core)
    server = build(db, bare)
    server.wsgi_app = buffered(server.wsgi_app)
    return server


def tls_options(args) -> dict:
    """granian's TLS arguments from --tls-cert/--tls-key, checked; with TLS on, cookies become Secure and HSTS is
    sent (the workers read PINGAN_SECURE_COOKIE). {} without TLS. Exits with a message naming what is wrong."""
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if not cert and not key:
        return {}
    if not (cert and key):
        raise SystemExit("TLS 需要同时提供证书（--tls-cert）和私钥（--tls-key）")
    from pathlib import Path

    for label, path in (("证书", cert), ("私钥", key)):
        if not Path(path).is_file():
            raise SystemExit(f"TLS {label}文件不存在：{path}")
    if args.server != "granian":
        raise SystemExit("waitress 不支持 TLS：请用 granian（默认），或在前面放一个终止 TLS 的反向代理")
    from granian.constants import SSLProtocols

    os.environ["PINGAN_SECURE_COOKIE"] = "1"
    return {"ssl_cert": Path(cert), "ssl_key": Path(key), "ssl_protocol_min": SSLProtocols.tls12}


def serve_granian(args) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels
    from granian.server import MPServer

    if not port_free(args.host, args.port):
        raise SystemExit(f"{args.host}:{args.port} 已被占用（另一个服务器在运行？）")

    tls = tls_options(args)
    server = MPServer(
        "console.server:build", address=args.host, port=args.port, interface=Interfaces.WSGI, **tls,
        workers=args.workers, blocking_threads=args.threads, http=HTTPModes.http1, websockets=False,
        backlog=2048, respawn_failed_workers=True, workers_kill_timeout=10,
        # granian's info lines (spawning, listening) and its warning that more Python threads than cores "seems
        # high" (threads here mostly wait for the group commit) are noise; errors (a worker exiting) still show
        log_level=LogLevels.error)
    scheme = "https" if tls else "http"
    server.on_startup(lambda: print(f"listening on {scheme}://{args.host}:{args.port} (granian, {args.workers} worker(s),"
                                    f" {args.threads} threads each)", flush=True))
    # every argument is picklable: granian may start workers with multiprocessing's "spawn" (Python ≥ 3.14)
    server.serve(target_loader=functools.partial(_worker_app, args.db, args.bare, os.getpid(), args.switch_interval),
                 wrap_loader=False)


def serve_waitress(args) -> None:
    from waitress import serve

    tls_options(args)  # refuses TLS options: waitress cannot serve HTTPS
    # waitress warns on every queued task once its threads are busy: a burst of log lines that costs CPU exactly
    # when there is none to spare. Queueing under load is normal here (requests wait for the group commit).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    sys.setswitchinterval(args.switch_interval)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))  # waitress starts listening once the app is built: until then, refused
    worker = fork_workers(args.workers) if args.workers > 1 else 0
    pin_worker(db=args.db)  # before waitress starts its threads (console.affinity)
    app = build(args.db, args.bare)
    if worker == 0:
        print(f"listening on http://{args.host}:{args.port} (waitress, {args.workers} worker(s))", flush=True)
    serve(app, sockets=[sock], threads=args.threads, connection_limit=1000, channel_timeout=30, backlog=2048,
          _quiet=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m console.server")
    ap.add_argument("--db", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8050)
    ap.add_argument("--server", choices=SERVERS, default=os.environ.get("PINGAN_SERVER", "granian"),
                    help="HTTP server (default granian; waitress is the pure-Python fallback)")
    ap.add_argument("--threads", type=int, default=default_threads(),
                    help="request threads per worker process")
    ap.add_argument("--bare", action="store_true")
    ap.add_argument("--workers", type=int, default=default_workers(),
                    help="processes sharing the port; their group-commit writers take turns through a file lock")
    ap.add_argument("--switch-interval", type=float, default=float(os.environ.get("PINGAN_SWITCH_INTERVAL", "0.005")),
                    help="GIL switch interval in seconds (default: Python's 0.005; 0.0005 measured no better here)")
    ap.add_argument("--tls-cert", default=os.environ.get("PINGAN_TLS_CERT"), help="PEM certificate: serve HTTPS")
    ap.add_argument("--tls-key", default=os.environ.get("PINGAN_TLS_KEY"), help="PEM private key of --tls-cert")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    # one session-signing key for every worker (and for a worker granian respawns)
    os.environ.setdefault("PINGAN_SECRET_KEY", secrets.token_hex(32))
    # the duty writer's batches must fit in the request threads (every worker reads it from the environment)
    os.environ.setdefault("PINGAN_DUTY_BATCH", str(company_for(args.threads)))
    (serve_granian if args.server == "granian" else serve_waitress)(args)


if __name__ == "__main__":
    main()
