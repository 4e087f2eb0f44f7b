"""The health check (docs/interface.md#health): ping, latency, and the role of the node reached."""

from __future__ import annotations

import time
from typing import Any

from tickstockpl.connection import Connector, format_address
from tickstockpl.replicas import Role


def check(connector: Connector) -> dict[str, Any]:
    """Healthy means: reachable, and the node we reached is a master."""
    result: dict[str, Any] = {"redis": "unhealthy", "latency_ms": None, "role": None, "master": None}
    try:
        client = connector.client
        client.ping()  # connect first, so latency is one round trip
        started = time.perf_counter()
        client.ping()
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        result["role"] = Role.of(client).name
        result["master"] = format_address(connector.master_address())
        if result["role"] == "master":
            result["redis"] = "healthy"
        else:
            result["error"] = f"reached a {result['role']}, not a master"
    except Exception as exc:  # health reports every failure, it never raises
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result
