"""console.loadgen against a tiny local HTTP/1.1 server: keep-alive, full responses read, codes and answers counted."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from console import loadgen


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    connections: set = set()

    paths: list = []

    @staticmethod
    def one(body) -> tuple[dict, int]:
        if body["n"] % 5 == 0:
            return {"error": "wrong_type"}, 422
        return {"id": body["n"], "event_id": body["event_id"], "alerts": [body["n"]]}, 201

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.connections.add(self.client_address)
        Handler.paths.append(self.path)
        if self.path == "/api/events/batch":
            out, code = {"results": [{"status": c, **o} for o, c in map(Handler.one, body)]}, 200
        else:
            out, code = Handler.one(body)
        data = json.dumps(out).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_open_loop_posts_count_codes_and_hand_back_answers():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    n = iter(range(1, 10_000))
    seen: dict[str, dict] = {}

    def next_event():
        i = next(n)
        return {"event_id": f"e{i}", "n": i}

    def on_result(ev, code, answer, at):
        seen[ev["event_id"]] = {"code": code, **answer}

    try:
        stats = loadgen.run(f"http://127.0.0.1:{server.server_address[1]}", "k", next_event, rate=200, seconds=1.0,
                            connections=4, on_result=on_result)
    finally:
        server.shutdown()
    assert 150 <= stats["sent"] <= 201  # paced at the rate (never ahead); slack for a loaded CI box
    bad = stats["sent"] // 5
    assert stats["codes"] == {201: stats["sent"] - bad, 422: bad}
    assert stats["ok"] == stats["sent"] - bad and stats["errors"] == bad
    assert len(seen) == stats["sent"]
    assert seen["e7"] == {"code": 201, "id": 7, "event_id": "e7", "alerts": [7]}
    assert seen["e10"]["code"] == 422 and seen["e10"]["error"] == "wrong_type"
    assert len(Handler.connections) <= 4  # requests reused the keep-alive connections
    assert stats["p50_ms"] is not None and stats["p99_queued_ms"] >= stats["p50_ms"]


def test_batches_post_arrays_and_count_each_item():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    n = iter(range(1, 10_000))
    seen: dict[str, dict] = {}
    Handler.paths.clear()

    def on_result(ev, code, answer, at):
        seen[ev["event_id"]] = {"code": code, **answer}

    try:
        stats = loadgen.run(f"http://127.0.0.1:{server.server_address[1]}", "k",
                            lambda: (lambda i: {"event_id": f"e{i}", "n": i})(next(n)), rate=500, seconds=1.0,
                            connections=4, on_result=on_result, batch=10)
    finally:
        server.shutdown()
    assert 400 <= stats["sent"] <= 510 and stats["sent"] % 10 == 0
    assert stats["requests"] == stats["sent"] // 10 == len(Handler.paths) and set(Handler.paths) == {"/api/events/batch"}
    bad = stats["sent"] // 5
    assert stats["codes"] == {201: stats["sent"] - bad, 422: bad} and stats["ok"] == stats["sent"] - bad
    assert seen["e7"] == {"code": 201, "status": 201, "id": 7, "event_id": "e7", "alerts": [7]}
    assert seen["e10"]["code"] == 422 and len(seen) == stats["sent"]
