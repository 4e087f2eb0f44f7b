"""HTTP endpoints: /healthz (loop alive), /readyz (master + group), /metrics."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tickstockpl.metrics import Metrics
from tickstockpl.settings import IPNetwork


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


class _Server(ThreadingHTTPServer):
    """Closes connections from other hosts that are not allowed, before reading a byte."""

    daemon_threads = True
    allow: tuple[IPNetwork, ...] = ()

    def verify_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> bool:
        if not isinstance(request, socket.socket) or not isinstance(client_address, tuple):
            return False
        # A peer with our own address is this host (the role's /readyz check, the drills).
        local = str(request.getsockname()[0])
        return peer_allowed(str(client_address[0]), self.allow, local)


def peer_allowed(peer: str, allow: tuple[IPNetwork, ...], local: str = "") -> bool:
    """Loopback, this host's own address, or an address inside `allow`."""
    try:
        address = ipaddress.ip_address(peer.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or peer == local or any(address in net for net in allow)


def serve(
    host: str, port: int, state: LiveState, metrics: Metrics,
    allow: tuple[IPNetwork, ...] = (),
) -> ThreadingHTTPServer:
    """Start the server in a daemon thread; the caller shuts it down.

    Only loopback and the `allow` networks are served: the endpoints have no
    authentication, so the address filter is what keeps /metrics private.
    """

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

    server = _Server((host, port), Handler)
    server.allow = allow
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
