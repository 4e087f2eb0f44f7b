"""Synthetic tick source for drills and load tests, written through producer.py.

By default each tick carries `publisher` and `seq`; with `spec_format` it
carries neither, as a producer that sends bare ticks would. Each
batch is one confirmed write (TickProducer): XADD to the stream, PUBLISH to
the channels, WAIT. A batch that fails or is not confirmed is re-sent as is
until it is confirmed or the run is stopped, so the stream may hold a tick
twice; consumers recognise the copy (by publisher/seq, or by content). The
client has no retry of its own here, so the publisher can count re-sends and
measure the client-visible gap: the longest time without a confirmed write.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field

from tickstockpl.connection import Connector
from tickstockpl.producer import NotConfirmed, Stamped, TickProducer
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.ticks import Tick

MAX_BATCH = 1000


@dataclass
class Summary:
    publisher_id: str
    rate: float
    tickers: list[str]
    stream: str
    sent: int = 0
    confirmed: int = 0
    retried: int = 0
    longest_gap_s: float = 0.0
    # Positions in this run (the ticks' seq unless spec_format).
    first_seq: int | None = None
    last_seq: int | None = None
    unconfirmed_seqs: list[int] = field(default_factory=list)
    duration_s: float = 0.0
    reconnects: int = 0
    failovers_seen: int = 0
    wait_replicas: int = 0
    stopped_by: str = "count"
    spec_format: bool = False
    # Confirmed ticks per wall-clock second ({epoch second: count}), for the drill's timeline.
    confirmed_per_s: dict[int, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Publisher:
    def __init__(
        self,
        connector: Connector,
        settings: Settings,
        shutdown: Shutdown,
        publisher_id: str,
        tickers: list[str],
        rate: float,
        seed: int | None = None,
        spec_format: bool = False,
    ) -> None:
        self.conn = connector
        self.settings = settings
        self.shutdown = shutdown
        self.tickers = tickers
        self.rate = rate
        self.spec_format = spec_format
        self._rng = random.Random(seed)
        self._prices = {t: 100.0 + 10 * i for i, t in enumerate(tickers)}
        # Re-send until confirmed or stopped, however long a failover takes.
        self.producer = TickProducer.from_settings(
            connector.client, settings, None if spec_format else publisher_id, retry_for_s=None
        )
        self.summary = Summary(
            publisher_id, rate, tickers, settings.stream,
            wait_replicas=settings.wait_replicas, spec_format=spec_format,
        )

    def make(self, position: int, now: float) -> Stamped:
        """The tick at this position of the run, stamped (seq = position unless spec_format)."""
        ticker = self.tickers[position % len(self.tickers)]
        # Random walk with occasional jumps so the detectors have work.
        price = self._prices[ticker] * (1 + self._rng.gauss(0, 0.004))
        price = max(0.01, round(price, 2))
        self._prices[ticker] = price
        volume = self._rng.randint(100, 1000) * (10 if self._rng.random() < 0.01 else 1)
        # Spec-format ticks have no seq: a distinct timestamp keeps distinct ticks
        # distinct in content (a tick's identity is then its content).
        stamp = now + (position % MAX_BATCH) * 1e-6 if self.spec_format else now
        tick = Tick(
            event_type="tick_data", ticker=ticker, price=price, volume=volume,
            timestamp=stamp, source="synthetic", market_status="REGULAR",
        )
        return self.producer.stamp(tick)

    def run(self, count: int | None = None, duration: float | None = None) -> Summary:
        s = self.summary
        start = time.monotonic()
        self._last_ok = start
        pos = 0
        stopped_by = "count"
        while True:
            if self.shutdown.requested:
                stopped_by = self.shutdown.signal_name or "signal"
                break
            now = time.monotonic()
            if duration is not None and now - start >= duration:
                stopped_by = "duration"
                break
            if count is not None and pos >= count:
                break
            due = int((now - start) * self.rate) + 1
            if count is not None:
                due = min(due, count)
            n = min(due - pos, MAX_BATCH)
            if n <= 0:
                # Sleep to the next tick, briefly: time.sleep overshoots by ~0.1 ms.
                time.sleep(max(0.0, min((pos / self.rate) - (now - start), 0.005)))
                continue
            wall = time.time()
            batch = [self.make(pos + i, wall) for i in range(n)]
            if s.first_seq is None:
                s.first_seq = pos
            s.last_seq = pos + n - 1
            s.sent += n
            if not self._send(batch):
                s.unconfirmed_seqs.extend(range(pos, pos + n))
            pos += n
        end = time.monotonic()
        s.longest_gap_s = round(max(s.longest_gap_s, end - self._last_ok), 4)
        s.duration_s = round(end - start, 3)
        s.reconnects = self.conn.reconnects
        s.failovers_seen = self.conn.failovers
        s.stopped_by = stopped_by
        return s

    def _send(self, batch: list[Stamped]) -> bool:
        """Write one batch until confirmed; False only if stopped first."""
        s = self.summary
        try:
            tries = self.producer.confirm(batch, stop=lambda: self.shutdown.requested)
        except NotConfirmed as exc:
            s.retried += (exc.tries - 1) * len(batch)
            self.conn.last_error = exc.last_error
            return False
        s.retried += (tries - 1) * len(batch)
        now = time.monotonic()
        s.longest_gap_s = max(s.longest_gap_s, now - self._last_ok)
        self._last_ok = now
        s.confirmed += len(batch)
        second = int(time.time())
        s.confirmed_per_s[second] = s.confirmed_per_s.get(second, 0) + len(batch)
        if tries > 1:
            self.conn.reconnects += 1
        if tries > 1 or s.confirmed == len(batch):
            self.conn.check_master()  # first write: learn the master
        return True
