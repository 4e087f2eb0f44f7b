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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_drift": drift}
