"""A console server for tests and benchmarks: `python -m console.server` in a subprocess (a free local port, the
process started and waited for until it answers), or a Dash app served from a thread of the test (`serving`). Its error output goes to a temporary file (a pipe nobody reads
would block a chatty server), quoted when it does not start."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from console.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def local_port() -> int:
    return free_port("127.0.0.1")


def start_console(db: str, port: int, *args: str, env: dict | None = None, ready: str = "/login",
                  timeout: float = 60.0) -> subprocess.Popen:
    """Start the server on `db` and `port` with further command-line `args`; return once GET `ready` answers
    (any status). Raises RuntimeError with the end of its error output if it exits or does not answer in time."""
    import requests

    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "console.server", "--db", db, "--port", str(port), *args],
                            cwd=ROOT, env={**os.environ, "PINGAN_WARM_CACHE": "0", **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            requests.get(f"http://127.0.0.1:{port}{ready}", timeout=1)
            return proc
        except (requests.ConnectionError, requests.ReadTimeout):
            time.sleep(0.2)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    errors.seek(0)
    raise RuntimeError(f"console server did not start: {errors.read().decode(errors='replace')[-2000:]}")


@contextmanager
def serving(app):
    """The Dash `app`'s server in a thread of this process on a free local port (browser tests): its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
