"""How many replicas a WAIT asks for: every replica the master has online, at least the floor.

`WAIT 1` with two replicas is not enough for a double fault: the one replica
that confirmed a write may be the one lost next (restarted, cut off) while
Sentinel promotes the other, which never had it. A confirmed tick is then
lost, or a pattern claim is lost and its event published a second time (the
replica-restart drill saw it once). So a WAIT asks every replica that ROLE
lists (ROLE lists only replicas in sync, the ones WAIT can count); the floor,
TICKSTOCKPL_WAIT_REPLICAS, still decides what counts as confirmed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

log = logging.getLogger(__name__)
REFRESH_S = 1.0  # one ROLE a second at most: a new or lost replica is seen within it


@dataclass(frozen=True, slots=True)
class Role:
    """A node's ROLE reply: its role, and on a master the replicas in sync."""

    name: str
    replicas: int = 0

    @classmethod
    def of(cls, client: redis.Redis) -> Role:
        reply: Any = client.execute_command("ROLE")  # type: ignore[no-untyped-call]
        # master: [b"master", offset, [[ip, port, offset], ...]]; replica: [b"slave", ip, port, state, offset]
        name = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        listed = reply[2] if name == "master" and isinstance(reply[2], list) else []
        return cls(name, len(listed))


class WaitTarget:
    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._clock = clock
        self._online = 0
        self._asked_at: float | None = None
        self._role_refused = False

    def wanted(self, floor: int) -> int:
        """Replicas to WAIT for now; 0: no WAIT (a floor of 0 turns it off)."""
        if floor <= 0:
            return 0
        now = self._clock()
        if self._asked_at is None or now - self._asked_at >= REFRESH_S:
            self._online = self._ask()
            self._asked_at = now
        return max(floor, self._online)

    def short(self) -> None:
        """A WAIT got fewer than it asked: ask ROLE again before the next one."""
        self._asked_at = None

    def _ask(self) -> int:
        if self._role_refused:
            return 0
        try:
            return Role.of(self.client).replicas
        except redis.exceptions.NoPermissionError:
            # An ACL user of an older kit: confirm with the floor alone, and say so once.
            self._role_refused = True
            log.warning("ROLE refused to this user: WAIT asks only TICKSTOCKPL_WAIT_REPLICAS replicas")
            return 0
