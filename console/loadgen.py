"""An open-loop HTTP load generator for POST /api/events (or /api/events/batch): asyncio, keep-alive connections,
stdlib only.

The thread-pool + `requests` client cost about as much CPU per request as the server (on the benchmark's
2-core box the client stole the server's core). This one writes each request as prepared bytes on one of
`connections` persistent HTTP/1.1 connections and reads the whole response (status line, headers,
Content-Length body, parsed JSON); nothing is skipped — only the per-request Python overhead is gone.

Open loop: event i is due at start + i/rate whatever the server does. Two latencies are kept:
`p50_ms/p99_ms` from writing the request to having read the answer (what the old client measured) and
`p99_queued_ms` from the moment the event was due (includes waiting for a free connection; if the server
falls behind this grows without bound, and `per_s` falls short of the rate).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from urllib.parse import urlsplit


class _Conn:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, dict, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(head + body)
        status_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        lines = status_and_headers.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def pick(values: list[float], q: float):
    return round(values[min(len(values) - 1, int(len(values) * q))], 1) if values else None


async def _run(url: str, key: str, next_event, rate: float, seconds: float, connections: int, on_result,
               batch: int = 0) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    path = "/api/events/batch" if batch else "/api/events"
    prefix = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {key}\r\n"
              f"Content-Type: application/json\r\nContent-Length: ").encode()
    per_request = max(1, batch)
    queue: asyncio.Queue = asyncio.Queue()
    lat: list[float] = []
    queued: list[float] = []
    codes: dict[int, int] = {}
    failures: list[str] = []
    start = time.perf_counter()

    async def worker():
        conn = _Conn(host, port)
        while True:
            item = await queue.get()
            if item is None:
                conn.close()
                return
            evs, due = item
            body = json.dumps(evs if batch else evs[0]).encode()
            t = time.perf_counter()
            try:
                code, headers, data = await asyncio.wait_for(
                    conn.request(prefix + str(len(body)).encode() + b"\r\n\r\n", body), 10)
                answer = json.loads(data) if headers.get("content-type", "").startswith("application/json") else {}
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                conn.close()
                code, answer = 0, {}
                failures.append(f"{type(exc).__name__}: {str(exc)[:160]}")
            done = time.perf_counter()
            lat.append((done - t) * 1000)
            queued.append((done - due) * 1000)
            if batch:  # one result per event; a refused request (or none) counts against each of its events
                results = answer.get("results") if code == 200 else None
                if not isinstance(results, list) or len(results) != len(evs):
                    results = [{"status": code or 0}] * len(evs)
                pairs = [(ev, r.get("status", 0), r) for ev, r in zip(evs, results)]
            else:
                pairs = [(evs[0], code, answer)]
            at = time.time()
            for ev, c, r in pairs:
                codes[c] = codes.get(c, 0) + 1
                if on_result is not None:
                    on_result(ev, c, r, at)

    tasks = [asyncio.create_task(worker()) for _ in range(connections)]
    sent = 0
    while (now := time.perf_counter() - start) < seconds:
        due = (int(now * rate / per_request) + 1) * per_request
        while sent < due:
            queue.put_nowait(([next_event() for _ in range(per_request)], start + sent / rate))
            sent += per_request
        await asyncio.sleep(min(0.005, per_request / rate))
    for _ in tasks:
        queue.put_nowait(None)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    lat.sort()
    queued.sort()
    ok = codes.get(200, 0) + codes.get(201, 0)
    return {"sent": sent, "ok": ok, "errors": sent - ok, "codes": codes, "elapsed_s": round(elapsed, 2),
            **({"batch": batch, "requests": len(lat)} if batch else {}),
            "per_s": round(ok / max(1e-9, elapsed), 1), "p50_ms": pick(lat, 0.5), "p99_ms": pick(lat, 0.99),
            "p99_queued_ms": pick(queued, 0.99), **({"first_failure": failures[0]} if failures else {})}


def run(url: str, key: str, next_event, rate: float, seconds: float, connections: int = 64, on_result=None,
        batch: int = 0) -> dict:
    """Post `next_event()` at `rate` events/s for `seconds` (blocking; the event loop runs on its own thread so a
    caller with its own loop, e.g. Playwright's sync API, is not disturbed). Counts and latencies (ms).
    `batch` > 0: POST /api/events/batch with that many events per request (rate/batch requests/s); counts are
    per event (each item's own status), latencies per request; `on_result` is called for every event."""
    out: dict = {}

    def main():
        out.update(asyncio.run(_run(url, key, next_event, rate, seconds, connections, on_result, batch)))

    thread = threading.Thread(target=main, name="pingan-loadgen")
    thread.start()
    thread.join()
    return out
