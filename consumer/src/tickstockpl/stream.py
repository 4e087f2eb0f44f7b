"""Stream mode: one consumer in the shared group, at-least-once.

Loop: drain our own pending entries (XREADGROUP id 0) first, then read new
ones in batches; commit side effects, then XACK (effects.py). Every claim
interval, XAUTOCLAIM entries idle longer than the process timeout from
consumers that died. Entries delivered more than TICKSTOCKPL_MAX_DELIVERIES
times go to the dead-letter stream. After a failover the new master may have
lost our acks (async replication) or even the group: we re-drain pending
entries and recreate the group on NOGROUP.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import ResponseError

from tickstockpl.connection import RETRYABLE, Connector, format_address
from tickstockpl.effects import Effects
from tickstockpl.endpoints import LiveState
from tickstockpl.metrics import Metrics
from tickstockpl.notify import Notifier
from tickstockpl.processor import Processor
from tickstockpl.signals import Shutdown

log = logging.getLogger(__name__)
DATA_FIELD = b"data"
Entry = tuple[bytes, dict[bytes, bytes] | None]


class StreamConsumer:
    def __init__(
        self,
        connector: Connector,
        shutdown: Shutdown,
        metrics: Metrics | None = None,
        state: LiveState | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.conn = connector
        self.settings = s = connector.settings
        self.client = connector.client
        self.shutdown = shutdown
        self.metrics = metrics or Metrics()
        self.state = state or LiveState()
        self.notifier = notifier or Notifier()
        self.processor = Processor(s)
        self.effects = Effects(self.client, s, self.metrics)
        self.processed = 0
        self._generation = -1
        self._drain_from: bytes | None = b"0"
        self._claim_from = b"0-0"
        self._next_claim = 0.0
        self._next_stats = 0.0

    # -- loop ---------------------------------------------------------------
    def run(self) -> int:
        s = self.settings
        log.info(
            "stream consumer starting",
            extra={"ctx": {"consumer": s.consumer_id, "stream": s.stream, "group": s.group}},
        )
        while not self.shutdown.requested:
            self.state.beat()
            self.notifier.watchdog()
            try:
                self._step()
                self.state.connected = True
            except ResponseError as exc:
                if "NOGROUP" in str(exc):
                    log.warning("group missing on this master; recreating")
                    self.state.group_ready = False
                    self._generation = -1  # ensure group and re-drain on next step
                    continue
                log.exception("redis refused a command")
                self.shutdown.wait(1.0)
            except RETRYABLE as exc:
                self.state.connected = False
                self._drain_from = b"0"  # a batch may be delivered but not acked
                log.error(
                    "redis unreachable beyond the failover budget; still trying",
                    extra={"ctx": {"error": f"{type(exc).__name__}: {exc}"}},
                )
                self.shutdown.wait(1.0)
            finally:
                self.metrics.reconnects.set(self.conn.reconnects)
                self.metrics.failovers.set(self.conn.failovers)
                self.metrics.connected.set(1 if self.state.connected else 0)
        self.notifier.stopping()
        log.info(
            "stream consumer stopped",
            extra={"ctx": {"processed": self.processed, "signal": self.shutdown.signal_name}},
        )
        return 0

    def _step(self) -> None:
        s = self.settings
        self.conn.check_master()
        if self._generation != self.conn.generation:
            # Start, or a failover: the new master may lack the group or our acks.
            self._ensure_group()
            self._generation = self.conn.generation
            self._drain_from = b"0"
        if self._drain_from is not None:
            entries = self._read(self._drain_from, block=None)
            if not entries:
                self._drain_from = None
                self.notifier.ready()
                return
            self._drain_from = entries[-1][0]
            self._handle(entries, check_deliveries=True)
            return
        now = time.monotonic()
        if now >= self._next_claim:
            self._next_claim = now + s.claim_interval
            self._claim()
        if now >= self._next_stats:
            self._next_stats = now + 5.0
            self._stats()
        entries = self._read(b">", block=s.block_ms)
        if entries:
            self._handle(entries, check_deliveries=False)

    # -- redis --------------------------------------------------------------
    def _ensure_group(self) -> None:
        s = self.settings
        try:
            # id 0: a group recreated after a failover re-reads what the stream
            # still holds; duplicates are harmless, losses are not.
            self.client.xgroup_create(s.stream, s.group, id="0", mkstream=True)
            log.info("created consumer group", extra={"ctx": {"group": s.group}})
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self.state.group_ready = True
        self.state.master = format_address(self.conn.master_address())

    def _read(self, from_id: bytes, block: int | None) -> list[Entry]:
        s = self.settings
        reply: Any = self.client.xreadgroup(
            s.group, s.consumer_id, {s.stream: from_id}, count=s.batch_size, block=block
        )
        if not reply:
            return []
        return list(reply[0][1])

    def _claim(self) -> None:
        s = self.settings
        reply: Any = self.client.xautoclaim(
            s.stream, s.group, s.consumer_id,
            min_idle_time=int(s.process_timeout * 1000),
            start_id=self._claim_from, count=s.batch_size,
        )
        self._claim_from = reply[0]
        entries: list[Entry] = list(reply[1])
        if entries:
            self.metrics.claimed.inc(len(entries))
            log.info("claimed idle entries", extra={"ctx": {"count": len(entries)}})
            self._handle(entries, check_deliveries=True)

    def _stats(self) -> None:
        s = self.settings
        groups: Any = self.client.xinfo_groups(s.stream)
        for g in groups:
            name = g.get("name")
            if name in (s.group, s.group.encode()):
                self.metrics.pending.set(g.get("pending") or 0)
                lag = g.get("lag")
                if lag is not None:
                    self.metrics.stream_lag.set(lag)

    def _deliveries(self, entries: list[Entry]) -> dict[bytes, int]:
        s = self.settings
        rows: Any = self.client.xpending_range(
            s.stream, s.group, min=entries[0][0], max=entries[-1][0],
            count=len(entries) * 2, consumername=s.consumer_id,
        )
        return {r["message_id"]: r["times_delivered"] for r in rows}

    # -- processing -----------------------------------------------------------
    def _handle(self, entries: list[Entry], check_deliveries: bool) -> None:
        started = time.perf_counter()
        s = self.settings
        over: set[bytes] = set()
        if check_deliveries:
            counts = self._deliveries(entries)
            over = {i for i, n in counts.items() if n > s.max_deliveries}
        items: list[tuple[bytes | None, bytes]] = []
        ack_only: list[bytes] = []
        late: list[tuple[bytes, bytes]] = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed from the stream while pending
                ack_only.append(entry_id)
                continue
            raw = fields.get(DATA_FIELD)
            if raw is None:
                raw = repr(fields).encode()
                late.append((entry_id, raw))
                continue
            if entry_id in over:
                late.append((entry_id, raw))
                continue
            items.append((entry_id, raw))
        batch = self.processor.process(items)
        for entry_id, raw in late:
            reason = "max_deliveries" if entry_id in over else "missing_data_field"
            batch.dead.append((reason, f"entry {entry_id.decode()}", raw, entry_id))
        batch.ack_ids = [e[0] for e in entries]
        self.effects.commit(batch)
        self.processed += batch.valid
        m = self.metrics
        m.ticks.inc(batch.valid)
        now = time.time()
        for ts in batch.tick_times:
            m.e2e_latency.observe(now - ts)
        m.batch_latency.observe(time.perf_counter() - started)
        if ack_only:
            log.info("acked entries trimmed while pending", extra={"ctx": {"count": len(ack_only)}})
