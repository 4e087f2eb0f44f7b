"""Pub/sub source: the tick channels, best effort, with visible gaps.

Subscribes the all-ticks channel, or the per-ticker channel of each ticker in
TICKSTOCKPL_TICKERS. Pub/sub keeps nothing for a disconnected subscriber, so
a failover loses the ticks published meanwhile; we cannot prevent that, but
we report it. Every lost subscription is a gap, whatever the ticks carry:
redis-py resubscribes when it reconnects (the Sentinel-managed connection to
the new master), and we count and log each resubscription. A master cut off
but alive keeps a subscription open and deaf, and a subscriber writes
nothing that would fail there: in this mode the connector hears Sentinel's
`+switch-master` (connection.SentinelWatch), and reopen() moves us then.
Ticks carrying (publisher, seq) also tell how many were missed: we count
sequence jumps per publisher, with all ticks subscribed. There is nothing to
ack.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redis.exceptions import ResponseError

from tickstockpl.connection import ReplyTooLarge
from tickstockpl.contract import CONTRACT
from tickstockpl.effects import Batch
from tickstockpl.metrics import Metrics
from tickstockpl.settings import Settings
from tickstockpl.worker import Fetched

log = logging.getLogger(__name__)


def channels_for(settings: Settings) -> list[str]:
    if not settings.tickers:
        return [CONTRACT.channel_all_ticks]
    return [CONTRACT.ticker_channel(t) for t in settings.tickers]


class GapTracker:
    """Per-publisher sequence bookkeeping: counts ticks we never saw."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.missing = 0
        self.repeats = 0

    def see(self, publisher: str, seq: int) -> int:
        """Record seq; return how many ticks were skipped just before it."""
        last = self.last.get(publisher)
        if last is None or seq > last:
            self.last[publisher] = seq
            gap = 0 if last is None else seq - last - 1
            self.missing += gap
            return gap
        self.repeats += 1
        return 0


class PubSubSource:
    kind = "pubsub"
    # Its own seen-bitmap: pub/sub is best effort and must not vouch for
    # ticks in the stream audit.
    seen_prefix = CONTRACT.pubsub_seen_prefix

    def __init__(self, settings: Settings, client: redis.Redis, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.channels = channels_for(settings)
        self._pubsub: Any = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._subscribed = False
        # Sequence gaps only mean loss when we get every ticker's ticks.
        self.track_gaps = not settings.tickers
        self.gaps = GapTracker()
        self.lost_subscriptions = 0

    @property
    def ready(self) -> bool:
        return self._subscribed  # no group in this mode

    @property
    def draining(self) -> bool:
        return False

    def describe(self) -> dict[str, Any]:
        return {"channels": self.channels}

    def stats(self) -> dict[str, Any]:
        return {"missing": self.gaps.missing, "lost_subscriptions": self.lost_subscriptions}

    def reopen(self, new_master: bool) -> None:
        if not self._subscribed:  # afterwards redis-py resubscribes by itself
            self._pubsub.subscribe(*self.channels)
            self._subscribed = True
            # Called on every later connect, after redis-py's own resubscribe.
            self._pubsub.connection.register_connect_callback(self._resubscribed)
        elif new_master:
            # A subscription to the old master can stay open and deaf until that
            # server drops it (a partition kept ours 21-33 s). Drop it: redis-py
            # resubscribes, on the master Sentinel names now.
            self._pubsub.connection.disconnect()

    def _resubscribed(self, _connection: object) -> None:
        self.lost_subscriptions += 1
        self.metrics.gap_events.labels("reconnect").inc()
        log.warning(
            "pub/sub connection lost and resubscribed: ticks published meanwhile are lost",
            extra={"ctx": {"channels": self.channels, "times": self.lost_subscriptions,
                           "counted": "with publisher/seq, by the next tick" if self.track_gaps else "no"}},
        )

    def lost_state(self, exc: ResponseError) -> bool:
        return False

    def close(self) -> None:
        self._pubsub.close()

    def ack_target(self) -> tuple[str, str] | None:
        return None

    def fetch(self) -> Fetched | None:
        try:
            return self._fetch()
        except ReplyTooLarge as exc:
            # The rest of that message is still on the socket: drop the connection
            # (redis-py reconnects and resubscribes); the message is lost, as pub/sub may.
            self._pubsub.connection.disconnect()
            return Fetched(dead=[("too_large", f"message {exc}", b"", b"")])

    def _fetch(self) -> Fetched | None:
        # Wait as long as a stream read blocks: it bounds shutdown latency in both modes.
        msg = self._pubsub.get_message(timeout=self.settings.block_ms / 1000)
        if msg is None:
            return None
        out = Fetched()
        self._add(out, msg["data"])
        # Take whatever else is already buffered, up to a batch.
        while len(out.items) + len(out.dead) < self.settings.batch_size:
            more = self._pubsub.get_message(timeout=0.0)
            if more is None:
                break
            self._add(out, more["data"])
        return out

    def _add(self, out: Fetched, data: bytes) -> None:
        s = self.settings
        if len(data) > s.max_entry_bytes:
            detail = f"message of {len(data)} bytes, over {s.max_entry_bytes}"
            out.dead.append(("too_large", detail, data[:s.dead_letter_payload_bytes], b""))
        else:
            out.items.append((None, data))

    def observe(self, batch: Batch) -> None:
        if not self.track_gaps:
            return
        for publisher, seqs in batch.seen.items():
            for seq in seqs:
                gap = self.gaps.see(publisher, seq)
                if gap:
                    self.metrics.gaps.inc(gap)
                    self.metrics.gap_events.labels("sequence").inc()
                    log.warning(
                        "gap in publisher sequence",
                        extra={"ctx": {"publisher": publisher, "before_seq": seq, "missing": gap}},
                    )
