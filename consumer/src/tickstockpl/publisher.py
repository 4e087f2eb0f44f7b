"""Synthetic tick source for drills and load tests.

Each tick carries `publisher` and `seq`, goes to the stream (XADD, bounded by
MAXLEN ~) and to the spec's pub/sub channels, one pipeline per batch that
ends with WAIT so a write counts as confirmed only once a replica has it.
A batch that fails or is not confirmed is re-sent as is (same seqs) until it
is confirmed: the stream may then hold a tick twice, which consumers
recognise by (publisher, seq). The publisher owns this retry loop (the
client has no retry of its own here) so it can count re-sends and measure the
client-visible gap: the longest time without a confirmed write.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass, field

import msgspec
import redis

from tickstockpl.connection import RETRYABLE, Connector
from tickstockpl.settings import ALL_TICKS_CHANNEL, TICKER_CHANNEL_PREFIX, Settings
from tickstockpl.signals import Shutdown
from tickstockpl.ticks import Tick

log = logging.getLogger(__name__)
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
    first_seq: int | None = None
    last_seq: int | None = None
    unconfirmed_seqs: list[int] = field(default_factory=list)
    duration_s: float = 0.0
    reconnects: int = 0
    failovers_seen: int = 0
    wait_replicas: int = 0
    stopped_by: str = "count"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class Publisher:
    def __init__(
        self,
        connector: Connector,
        shutdown: Shutdown,
        publisher_id: str,
        tickers: list[str],
        rate: float,
        seed: int | None = None,
    ) -> None:
        self.conn = connector
        self.settings: Settings = connector.settings
        self.shutdown = shutdown
        self.publisher_id = publisher_id
        self.tickers = tickers
        self.rate = rate
        self._rng = random.Random(seed)
        self._prices = {t: 100.0 + 10 * i for i, t in enumerate(tickers)}
        self._encoder = msgspec.json.Encoder()
        self.summary = Summary(
            publisher_id, rate, tickers, self.settings.stream,
            wait_replicas=self.settings.wait_replicas,
        )

    def _make(self, seq: int, now: float) -> bytes:
        ticker = self.tickers[seq % len(self.tickers)]
        # Random walk with occasional jumps so the detectors have work.
        price = self._prices[ticker] * (1 + self._rng.gauss(0, 0.004))
        price = max(0.01, round(price, 2))
        self._prices[ticker] = price
        volume = self._rng.randint(100, 1000) * (10 if self._rng.random() < 0.01 else 1)
        tick = Tick(
            event_type="tick_data", ticker=ticker, price=price, volume=volume,
            timestamp=now, source="synthetic", market_status="REGULAR",
            publisher=self.publisher_id, seq=seq,
        )
        return self._encoder.encode(tick)

    def run(self, count: int | None = None, duration: float | None = None) -> Summary:
        s = self.summary
        start = time.monotonic()
        self._last_ok = start
        seq = 0
        stopped_by = "count"
        while True:
            if self.shutdown.requested:
                stopped_by = self.shutdown.signal_name or "signal"
                break
            now = time.monotonic()
            if duration is not None and now - start >= duration:
                stopped_by = "duration"
                break
            if count is not None and seq >= count:
                break
            due = int((now - start) * self.rate) + 1
            if count is not None:
                due = min(due, count)
            n = min(due - seq, MAX_BATCH)
            if n <= 0:
                # Sleep to the next tick, briefly: time.sleep overshoots by ~0.1 ms.
                time.sleep(max(0.0, min((seq / self.rate) - (now - start), 0.005)))
                continue
            wall = time.time()
            payloads = [(seq + i, self._make(seq + i, wall)) for i in range(n)]
            if s.first_seq is None:
                s.first_seq = seq
            s.last_seq = seq + n - 1
            s.sent += n
            seq += n
            if not self._send(payloads):
                s.unconfirmed_seqs.extend(q for q, _ in payloads)
        end = time.monotonic()
        s.longest_gap_s = round(max(s.longest_gap_s, end - self._last_ok), 4)
        s.duration_s = round(end - start, 3)
        s.reconnects = self.conn.reconnects
        s.failovers_seen = self.conn.failovers
        s.stopped_by = stopped_by
        return s

    def _send(self, payloads: list[tuple[int, bytes]]) -> bool:
        """Write one batch until confirmed; False only if stopped first."""
        st = self.settings
        s = self.summary
        tries = 0
        while True:
            tries += 1
            if tries > 1:
                s.retried += len(payloads)
            try:
                pipe = self.conn.client.pipeline(transaction=False)
                for seq, data in payloads:
                    ticker = self.tickers[seq % len(self.tickers)]
                    pipe.xadd(st.stream, {"data": data}, maxlen=st.stream_maxlen, approximate=True)
                    pipe.publish(ALL_TICKS_CHANNEL, data)
                    pipe.publish(TICKER_CHANNEL_PREFIX + ticker, data)
                if st.wait_replicas > 0:
                    pipe.wait(st.wait_replicas, st.wait_timeout_ms)
                results = pipe.execute()
                ok = st.wait_replicas == 0 or int(results[-1]) >= st.wait_replicas
            except RETRYABLE as exc:
                ok = False
                self.conn.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("publish failed; will resend batch", extra={"ctx": {"error": str(exc)}})
            except redis.ResponseError as exc:
                ok = False
                log.warning("publish refused; will resend batch", extra={"ctx": {"error": str(exc)}})
            if ok:
                now = time.monotonic()
                s.longest_gap_s = max(s.longest_gap_s, now - self._last_ok)
                self._last_ok = now
                s.confirmed += len(payloads)
                if tries > 1:
                    self.conn.reconnects += 1
                if tries > 1 or s.confirmed == len(payloads):
                    self.conn.check_master()  # first write: learn the master
                return True
            if self.shutdown.requested:
                return False
            time.sleep(min(0.05 * tries, 0.25))
