"""HTTP endpoints: /healthz (loop alive), /readyz (master + group), /metrics."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tickstockpl.metrics import Metrics


@dataclass
class LiveState:
    """Written by the consume loop, read by the HTTP thread (plain attributes)."""

    stall_after_s: float = 30.0
    connected: bool = False
    group_ready: bool = False
    master: str = ""
    last_beat: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self.last_beat < self.stall_after_s

    def ready(self) -> bool:
        return self.connected and self.group_ready


def serve(host: str, port: int, state: LiveState, metrics: Metrics) -> ThreadingHTTPServer:
    """Start the server in a daemon thread; the caller shuts it down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                ok = state.alive()
                self._reply(200 if ok else 503, {"alive": ok})
            elif self.path == "/readyz":
                ok = state.ready()
                body = {
                    "ready": ok, "connected": state.connected,
                    "group_ready": state.group_ready, "master": state.master,
                }
                self._reply(200 if ok else 503, body)
            elif self.path == "/metrics":
                data = generate_latest(metrics.registry)
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE_LATEST)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self._reply(404, {"error": "not found"})

        def _reply(self, code: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # scrapes every few seconds would drown the JSON log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
