"""What differs between a running Redis or Sentinel and what Ansible wants.

    tickstock_drift(current, wanted) -> {key: wanted value as Redis prints it}

`current` is what the server says: the lines of `redis-cli --raw CONFIG GET *`
or `SENTINEL MASTER <name>` / `SENTINEL CONFIG GET *` (key and value
alternating), or a dict. `wanted` is a dict of settings. A setting is drift
when the server's value differs from the wanted one written the way Redis
writes it (true -> yes, 5000 -> "5000", a list -> space-separated), or when
the server does not have it at all. The result is ordered as `wanted`; its
keys are the settings to CONFIG SET / SENTINEL SET (`| list` for the names,
`| dict2items` to loop).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from redis_replies import parse_pairs, redis_str


def drift(current: Any, wanted: Mapping[str, Any]) -> dict[str, str]:
    """The wanted settings whose value the server does not have."""
    have = parse_pairs(current)
    changes: dict[str, str] = {}
    for key, value in wanted.items():
        want = redis_str(value)
        if have.get(key) != want:
            changes[key] = want
    return changes


def config_set(item: Mapping[str, Any]) -> list[str]:
    """One drift entry (from dict2items) as the words of CONFIG SET."""
    return ["CONFIG", "SET", str(item["key"]), redis_str(item["value"])]


def sentinel_set(key: str, master: str, drift: Mapping[str, Any]) -> list[str]:
    """SENTINEL SET <master> <key> <value>, for one key of a drift dict."""
    return ["SENTINEL", "SET", master, key, redis_str(drift[key])]


def sentinel_config_set(key: str, drift: Mapping[str, Any]) -> list[str]:
    """SENTINEL CONFIG SET <key> <value>, for one key of a drift dict."""
    return ["SENTINEL", "CONFIG", "SET", key, redis_str(drift[key])]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_drift": drift,
            "tickstock_config_set": config_set,
            "tickstock_sentinel_set": sentinel_set,
            "tickstock_sentinel_config_set": sentinel_config_set,
        }
