"""The consumer: one loop, with a pluggable source of messages.

A source (stream.py: the durable stream through the consumer group;
pubsub.py: the pub/sub channels) fetches a batch and, for the stream, acks it.
Everything else is the loop's and so is the same in both modes: decode,
validate and detect (processor.py), commit the side effects (effects.py),
metrics, liveness and readiness, systemd notify, failover handling.

Each turn: note a failover; after one (or at start, or after losing Redis
beyond the retry budget) reopen the source, which for the stream means
(re)create the group and re-drain our own pending entries, since the new
master may have lost acks; fetch; process; commit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.exceptions import ResponseError

from tickstockpl.connection import RETRYABLE, Connector, format_address
from tickstockpl.effects import Batch, CommitMoved, Effects
from tickstockpl.endpoints import LiveState
from tickstockpl.metrics import Metrics
from tickstockpl.notify import Notifier
from tickstockpl.processor import Processor
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.ticks import Message

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Fetched:
    """One batch as a source hands it over."""

    # (stream entry id or None for pub/sub, raw message) to decode and process
    items: list[tuple[bytes | None, Message]] = field(default_factory=list)
    # decided by the source before decoding: (reason, detail, raw, entry id)
    dead: list[tuple[str, str, bytes, bytes]] = field(default_factory=list)
    # everything to ack once the side effects are committed
    ack_ids: list[bytes] = field(default_factory=list)


class Source(Protocol):
    kind: str  # "stream" or "pubsub", for log messages
    seen_prefix: str  # which seen-bitmap this mode marks

    @property
    def ready(self) -> bool:
        """The group exists / the channels are subscribed (readiness)."""

    @property
    def draining(self) -> bool:
        """Still re-reading our own pending entries after (re)opening."""

    def describe(self) -> dict[str, Any]: ...

    def reopen(self, new_master: bool) -> None:
        """At start and after a failover: set up again before the next fetch.

        new_master: the connector names another master than when the source last opened.
        """

    def lost_state(self, exc: ResponseError) -> bool:
        """True if this error means the server lost what reopen() sets up."""

    def fetch(self) -> Fetched | None:
        """The next batch, or None when there was nothing (after blocking a while)."""

    def observe(self, batch: Batch) -> None:
        """Look at a processed batch before it is committed (pub/sub: sequence gaps)."""

    def ack_target(self) -> tuple[str, str] | None:
        """(stream, group) a batch's ids are acked in (Effects decides when); None: no ack."""

    def stats(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


def make_source(settings: Settings, connector: Connector, metrics: Metrics) -> Source:
    if settings.mode == "stream":
        from tickstockpl.stream import StreamSource

        return StreamSource(settings, connector.client, metrics)
    from tickstockpl.pubsub import PubSubSource

    # A subscriber writes nothing that would fail on a master cut off but alive:
    # it must hear Sentinel name the new one (the reopen then moves the subscription).
    connector.watch_sentinel()
    return PubSubSource(settings, connector.client, metrics)


class Worker:
    def __init__(
        self,
        settings: Settings,
        connector: Connector,
        shutdown: Shutdown,
        metrics: Metrics | None = None,
        state: LiveState | None = None,
        notifier: Notifier | None = None,
        source: Source | None = None,
    ) -> None:
        self.settings = settings
        self.conn = connector
        self.shutdown = shutdown
        # Retries give up once shutdown is requested: SIGTERM must not wait out the failover budget.
        connector.retry.stop = shutdown.wait
        self.metrics = metrics or Metrics()
        self.state = state or LiveState()
        self.notifier = notifier or Notifier()
        self.source = source or make_source(settings, connector, self.metrics)
        self.processor = Processor(settings)
        self.effects = Effects(connector.client, settings, self.metrics, self.source.seen_prefix,
                               once=connector.retry.once)
        self.processed = 0
        self._generation = -1  # connector generation the source was opened for; -1: reopen
        self._reconnects = 0  # connector reconnects when the source was opened
        self._master_generation: int | None = None  # the master the source last opened on

    def run(self) -> int:
        kind = self.source.kind
        log.info(f"{kind} consumer starting", extra={"ctx": {"consumer": self.settings.consumer_id,
                                                             **self.source.describe()}})
        while not self.shutdown.requested:
            self.state.beat()
            self.notifier.watchdog()
            try:
                self._turn()
                self.state.connected = True
            except CommitMoved as exc:
                # Not acked: the batch is read again where the master now is.
                self._generation = -1
                log.warning("the master changed during a commit; reading the batch again",
                            extra={"ctx": {"error": str(exc)}})
            except RETRYABLE as exc:  # before ResponseError: ReadOnlyError is both
                self.state.connected = False
                self._generation = -1  # a batch may be delivered but not acked: re-drain
                log.error(
                    "redis unreachable beyond the failover budget; still trying",
                    extra={"ctx": {"error": f"{type(exc).__name__}: {exc}"}},
                )
                self.shutdown.wait(1.0)
            except ResponseError as exc:
                if self.source.lost_state(exc):
                    log.warning("server lost the consumer group; recreating", extra={"ctx": {"error": str(exc)}})
                    self._generation = -1
                else:
                    log.exception("redis refused a command")
                    self.shutdown.wait(1.0)
            finally:
                self.conn.check_master()
                self.state.group_ready = self.source.ready
                self.metrics.count_connection(self.conn.reconnects, self.conn.failovers)
                self.metrics.connected.set(1 if self.state.connected else 0)
        self.source.close()
        self.notifier.stopping()
        log.info(
            f"{kind} consumer stopped",
            extra={"ctx": {"processed": self.processed, "signal": self.shutdown.signal_name,
                           **self.source.stats()}},
        )
        return 0

    def _turn(self) -> None:
        self.conn.check_master()
        if self._generation != self.conn.generation or self._reconnects != self.conn.reconnects:
            # Start, a failover, Redis lost for a while, or a call retried on a new
            # connection (the server may have restarted, its figures and acks older
            # than ours; a read may have been delivered, then lost with the old
            # connection: re-drain it now rather than claim it after the process
            # timeout): set up again.
            new_master = self._master_generation not in (None, self.conn.generation)
            self._generation = self._master_generation = self.conn.generation
            self._reconnects = self.conn.reconnects
            self.source.reopen(new_master)
            self.state.master = format_address(self.conn.master_address())
        fetched = self.source.fetch()
        if fetched is not None:
            self._handle(fetched)
        if self.source.ready and not self.source.draining:
            self.notifier.ready()

    def _handle(self, fetched: Fetched) -> None:
        started = time.perf_counter()
        batch = self.processor.process(fetched.items)
        batch.dead.extend(fetched.dead)
        batch.ack_ids = fetched.ack_ids
        self.source.observe(batch)
        self.effects.commit(batch, self.source)
        self.processed += batch.valid
        m = self.metrics
        m.ticks.inc(batch.valid)
        now = time.time()
        for ts in batch.tick_times:
            m.e2e_latency.observe(now - ts)
        m.batch_latency.observe(time.perf_counter() - started)
