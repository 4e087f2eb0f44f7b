"""Queue depth: entries the group has not delivered yet, plus those pending, true across failovers.

Redis's XINFO GROUPS `lag` is the stream's entries-added minus the group's
entries-read. A Redis 7.0 replica does not advance entries-read when it
replays the master's group reads, so once it is promoted `lag` stays too high
by every read it missed, for good (issue 12: 39,370 with every consumer
current). What does survive a failover are the ids: when the group's
last-delivered-id has reached the stream's last-generated-id nothing is
undelivered, whatever `lag` says, and `lag` is then exactly its error. We
keep that error and take it off later readings from the same master.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class QueueDepth:
    """Undelivered + pending from XINFO GROUPS (one group) and XINFO STREAM."""

    def __init__(self) -> None:
        self.lag_error: int | None = None  # Redis's lag minus the truth, as last seen on this master

    def reset(self) -> None:
        """Another master, or a recreated group: an error seen before no longer applies."""
        self.lag_error = None

    def update(self, group: Mapping[str, Any], stream: Mapping[str, Any]) -> int | None:
        """The depth now; None when it cannot be known (Redis gives no lag and entries are undelivered).

        Read `group` before `stream`: a group that had then delivered up to the id generated
        later had nothing undelivered when its lag was taken.
        """
        pending = int(group.get("pending") or 0)
        lag = group.get("lag")
        if _id(group["last-delivered-id"]) >= _id(stream["last-generated-id"]):
            self.lag_error = None if lag is None else int(lag)
            return pending
        if lag is None:  # XDEL gaps ahead of the group: Redis cannot count them either
            return None
        undelivered = int(lag) - (self.lag_error or 0)
        # Until caught up once on this master, Redis's lag is all we have; it never exceeds the length.
        return pending + max(0, min(undelivered, int(stream.get("length") or 0)))
