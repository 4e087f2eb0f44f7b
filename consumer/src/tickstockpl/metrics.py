"""Prometheus metrics, in a registry of our own (one per consumer object)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector

_LATENCY_BUCKETS = (
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.ticks = Counter("tickstockpl_ticks_processed_total", "Valid ticks processed", registry=r)
        self.bad_ticks = Counter(
            "tickstockpl_bad_ticks_total", "Messages sent to the dead-letter stream",
            ["reason"], registry=r,
        )
        self.patterns = Counter(
            "tickstockpl_pattern_events_total", "Pattern events published", ["pattern_type"],
            registry=r,
        )
        self.pattern_repeats = Counter(
            "tickstockpl_pattern_repeats_total",
            "Pattern findings not published because their pattern_id was already used",
            registry=r,
        )
        self.batch_latency = Histogram(
            "tickstockpl_batch_processing_seconds",
            "Time to decode, detect, commit and ack one batch",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.e2e_latency = Histogram(
            "tickstockpl_end_to_end_seconds",
            "Now minus tick timestamp when its batch is committed (sampled, <=64 per batch)",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.reconnects = Counter(
            "tickstockpl_reconnects_total", "Recoveries after a connection error", registry=r)
        self.failovers = Counter("tickstockpl_failovers_seen_total", "Master address changes seen", registry=r)
        self.stream_lag = Gauge("tickstockpl_stream_lag", "Entries not yet delivered to the group", registry=r)
        self.pending = Gauge("tickstockpl_pending", "Entries delivered to the group, not acked", registry=r)
        self.queue_depth = Gauge(
            "tickstockpl_queue_depth",
            "Entries not yet delivered to the group plus pending, from the master we use (NaN: unknown)",
            registry=r,
        )
        self.claimed = Counter("tickstockpl_claimed_total", "Entries claimed from idle consumers", registry=r)
        self.gaps = Counter(
            "tickstockpl_pubsub_gap_ticks_total", "Ticks missed per publisher sequence (pub/sub)",
            registry=r,
        )
        self.gap_events = Counter(
            "tickstockpl_pubsub_gaps_total",
            "Gaps in pub/sub: a lost subscription (cause reconnect) or a publisher sequence jump (cause sequence)",
            ["cause"], registry=r,
        )
        self.connected = Gauge("tickstockpl_connected", "1 when the last Redis call succeeded", registry=r)
        # A custom registry gets no process_* metrics by itself: RSS, CPU, open fds.
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self._counted = (0, 0)

    def count_connection(self, reconnects: int, failovers: int) -> None:
        """Advance the counters to the connector's running totals."""
        seen_r, seen_f = self._counted
        if reconnects > seen_r:
            self.reconnects.inc(reconnects - seen_r)
        if failovers > seen_f:
            self.failovers.inc(failovers - seen_f)
        self._counted = (max(reconnects, seen_r), max(failovers, seen_f))
