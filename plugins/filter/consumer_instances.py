"""The consumer instances of a host: id, mode, tickers and HTTP port.

    tickstock_consumer_instances(ids, pubsub, port_base)

Instances below PUBSUB_FIRST read the stream; PUBSUB_FIRST + k is the pub/sub
subscriber of pubsub[k] ({"tickers": [...]}, or {} for tickstock.all_ticks).
Instance N listens on port_base + N - 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

PUBSUB_FIRST = 101


def instances(ids: Iterable[int], pubsub: Sequence[Mapping[str, Any]], port_base: int) -> list[dict[str, Any]]:
    out = []
    for i in ids:
        n = int(i)
        entry = pubsub[n - PUBSUB_FIRST] if n >= PUBSUB_FIRST else None
        out.append({
            "id": n,
            "mode": "stream" if entry is None else "pubsub",
            "tickers": list((entry or {}).get("tickers") or []),
            "port": int(port_base) + n - 1,
        })
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_consumer_instances": instances}
