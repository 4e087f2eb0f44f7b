"""Whether a consumer group has delivered and acked everything in its stream.

    tickstock_group_drained(xinfo, group) -> bool

`xinfo` is the two replies of tickstock_redis: `XINFO STREAM <stream>`, then
`XINFO GROUPS <stream>`. Read in that order, a group whose last-delivered-id
has reached the stream's last-generated-id of a moment earlier, with nothing
pending, has worked through the backlog. The group's `lag` is not used:
Redis's lag counter can stay wrong after a failover.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from redis_replies import parse_pairs


def stream_id(value: str) -> tuple[int, int]:
    """A stream entry id "<ms>-<seq>" as a comparable pair; anything else is (-1, -1)."""
    ms, _, seq = str(value).partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return -1, -1


def group_drained(xinfo: Any, group: str) -> bool:
    replies = list(xinfo or []) if isinstance(xinfo, Sequence) and not isinstance(xinfo, str) else []
    if len(replies) < 2 or not isinstance(replies[1], Sequence) or isinstance(replies[1], str):
        return False
    try:
        stream = parse_pairs(replies[0])
    except (TypeError, ValueError):
        return False
    groups = replies[1]
    for entry in groups:
        try:
            g = parse_pairs(entry)
        except (TypeError, ValueError):
            continue
        if g.get("name") == group:
            return g.get("pending") == "0" and stream_id(g.get("last-delivered-id", "")) >= stream_id(
                stream.get("last-generated-id", "")
            )
    return False


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_group_drained": group_drained}
