"""`watch-patterns`: record every pattern event as a JSON line, through failovers.

Drills count duplicates in the file this writes (see audit.py).
"""

from __future__ import annotations

import logging
from typing import Any

from tickstockpl.connection import RETRYABLE, Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.signals import Shutdown

log = logging.getLogger(__name__)


def watch_patterns(connector: Connector, shutdown: Shutdown, out_path: str) -> int:
    # A listener writes nothing that would fail on a master cut off but alive: hear Sentinel instead.
    connector.watch_sentinel()
    pubsub: Any = connector.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    written = 0
    with open(out_path, "ab", buffering=0) as out:
        subscribed = False
        generation = connector.generation
        while not shutdown.requested:
            try:
                if not subscribed:
                    pubsub.subscribe(CONTRACT.channel_patterns)
                    subscribed = True
                    log.info("watching pattern events", extra={"ctx": {"out": out_path}})
                msg = pubsub.get_message(timeout=0.5)
                if msg is not None:
                    out.write(bytes(msg["data"]).rstrip(b"\n") + b"\n")
                    written += 1
            except RETRYABLE as exc:
                log.error("pattern watch lost redis; retrying", extra={"ctx": {"error": str(exc)}})
                shutdown.wait(1.0)
            connector.check_master()
            if connector.generation != generation:
                generation = connector.generation
                if subscribed:
                    # As PubSubSource.reopen: drop the subscription left on the old
                    # master; redis-py resubscribes on the one Sentinel names now.
                    pubsub.connection.disconnect()
    pubsub.close()
    log.info("pattern watch stopped", extra={"ctx": {"written": written}})
    return 0
