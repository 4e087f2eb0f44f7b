"""Pub/sub mode: the spec's channels, best effort, with visible gaps.

Subscribes `tickstock.all_ticks`, or `tickstock.ticks.{TICKER}` for each
ticker in TICKSTOCKPL_TICKERS. Pub/sub keeps nothing for a disconnected
subscriber, so a failover loses the ticks published meanwhile; we cannot
prevent that, but we report it: ticks carrying (publisher, seq) let us count
sequence jumps per publisher. redis-py resubscribes on reconnect, and the
Sentinel-managed connection reconnects to the new master.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from tickstockpl.connection import RETRYABLE, Connector, format_address
from tickstockpl.effects import Effects
from tickstockpl.endpoints import LiveState
from tickstockpl.metrics import Metrics
from tickstockpl.notify import Notifier
from tickstockpl.processor import Processor
from tickstockpl.settings import (
    ALL_TICKS_CHANNEL,
    PUBSUB_SEEN_KEY_PREFIX,
    TICKER_CHANNEL_PREFIX,
    Settings,
)
from tickstockpl.signals import Shutdown

log = logging.getLogger(__name__)


def channels_for(settings: Settings) -> list[str]:
    if not settings.tickers:
        return [ALL_TICKS_CHANNEL]
    return [TICKER_CHANNEL_PREFIX + t for t in settings.tickers]


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


class PubSubConsumer:
    def __init__(
        self,
        connector: Connector,
        shutdown: Shutdown,
        metrics: Metrics | None = None,
        state: LiveState | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.conn = connector
        self.settings = connector.settings
        self.shutdown = shutdown
        self.metrics = metrics or Metrics()
        self.state = state or LiveState()
        self.notifier = notifier or Notifier()
        self.processor = Processor(self.settings)
        # Its own seen-bitmap: pub/sub is best effort and must not vouch for
        # ticks in the stream audit.
        self.effects = Effects(connector.client, self.settings, self.metrics, PUBSUB_SEEN_KEY_PREFIX)
        # Sequence gaps only mean loss when we get every ticker's ticks.
        self.track_gaps = not self.settings.tickers
        self.gaps = GapTracker()
        self.processed = 0

    def run(self) -> int:
        channels = channels_for(self.settings)
        pubsub: Any = self.conn.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        log.info("pubsub consumer starting", extra={"ctx": {"channels": channels}})
        subscribed = False
        while not self.shutdown.requested:
            self.state.beat()
            self.notifier.watchdog()
            try:
                if not subscribed:
                    pubsub.subscribe(*channels)
                    subscribed = True
                    self.state.group_ready = True  # no group in this mode
                    self.state.master = format_address(self.conn.master_address())
                self._step(pubsub)
                self.state.connected = True
                self.notifier.ready()
            except RETRYABLE as exc:
                self.state.connected = False
                log.error(
                    "redis unreachable beyond the failover budget; still trying",
                    extra={"ctx": {"error": f"{type(exc).__name__}: {exc}"}},
                )
                self.shutdown.wait(1.0)
            finally:
                self.conn.check_master()
                self.metrics.reconnects.set(self.conn.reconnects)
                self.metrics.failovers.set(self.conn.failovers)
        pubsub.close()
        self.notifier.stopping()
        log.info(
            "pubsub consumer stopped",
            extra={"ctx": {"processed": self.processed, "missing": self.gaps.missing}},
        )
        return 0

    def _step(self, pubsub: Any) -> None:
        msg = pubsub.get_message(timeout=1.0)
        if msg is None:
            return
        raws: list[bytes] = [msg["data"]]
        # Take whatever else is already buffered, up to a batch.
        while len(raws) < self.settings.batch_size:
            more = pubsub.get_message(timeout=0.0)
            if more is None:
                break
            raws.append(more["data"])
        self._handle(raws)

    def _handle(self, raws: list[bytes]) -> None:
        started = time.perf_counter()
        batch = self.processor.process((None, raw) for raw in raws)
        for publisher, seqs in batch.seen.items() if self.track_gaps else ():
            for seq in seqs:
                gap = self.gaps.see(publisher, seq)
                if gap:
                    self.metrics.gaps.inc(gap)
                    log.warning(
                        "gap in publisher sequence",
                        extra={"ctx": {"publisher": publisher, "before_seq": seq, "missing": gap}},
                    )
        self.effects.commit(batch)
        self.processed += batch.valid
        self.metrics.ticks.inc(batch.valid)
        now = time.time()
        for ts in batch.tick_times:
            self.metrics.e2e_latency.observe(now - ts)
        self.metrics.batch_latency.observe(time.perf_counter() - started)
