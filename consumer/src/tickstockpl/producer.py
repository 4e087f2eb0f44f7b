"""Confirmed tick writes, for TickStock and any other producer.

    from tickstockpl.connection import Connector
    from tickstockpl.producer import TickProducer
    from tickstockpl.settings import Settings

    settings = Settings.from_env()                         # REDIS_SENTINELS=...
    client = Connector(settings, retry_budget=0).client    # follows the master
    producer = TickProducer.from_settings(client, settings, publisher_id="tickstock-a1")
    producer.send([{"event_type": "tick_data", "ticker": "AAPL", ...}, ...])

A batch is one pipeline: XADD each tick to the stream (the durable copy, in
the packed form: one field `tick`, see ticks.py), PUBLISH its
JSON to the all-ticks and the ticker's channel, then WAIT for every replica in
sync (replicas.py). The write is confirmed once at least `wait_replicas` have
it: a tick confirmed this way survives a failover. A failed or unconfirmed batch is
re-sent as is, the same values with the same seq, so the stream may hold a
tick twice and consumers recognise the copy by `publisher`/`seq` (or, for a
producer without them, by the tick's content: see ticks.tick_identity).

The seq is assigned once, when a tick is stamped; it is never reused for
another tick. A publisher id names one sequence: use a new one per process
start unless the seq is persisted (`first_seq`), and it must fit the
`publisher` rule of ticks.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import redis

from tickstockpl.connection import RETRYABLE
from tickstockpl.contract import CONTRACT
from tickstockpl.replicas import WaitTarget
from tickstockpl.settings import Settings
from tickstockpl.ticks import Tick, encode, to_packed

log = logging.getLogger(__name__)
SEQ_LIMIT = 2**32  # ticks.Seq: a bit offset in the seen-bitmap


class NotConfirmed(Exception):
    """A batch was not confirmed before the budget ran out or a stop was asked."""

    def __init__(self, seqs: list[int | None], tries: int, last_error: str | None) -> None:
        super().__init__(f"{len(seqs)} ticks not confirmed after {tries} tries: {last_error}")
        self.seqs = seqs
        self.tries = tries
        self.last_error = last_error


@dataclass(frozen=True, slots=True)
class Stamped:
    """A tick ready to write: its ticker (for the channel), seq, JSON (channels) and stream fields."""

    ticker: str
    seq: int | None
    data: bytes
    fields: dict[bytes, bytes]


class TickProducer:
    def __init__(
        self,
        client: redis.Redis,
        publisher_id: str | None,
        *,
        stream: str = CONTRACT.stream,
        maxlen: int = 1_000_000,
        max_age_s: int = 0,
        wait_replicas: int = 1,
        wait_timeout_ms: int = 500,
        publish_channels: bool = True,
        first_seq: int = 0,
        retry_for_s: float | None = 30.0,
    ) -> None:
        """publisher_id None: spec-format ticks, without publisher/seq (not recommended).

        retry_for_s: how long confirm() keeps re-sending; None: until its stop() says so.
        max_age_s: also trim entries older than this (by their id, against this host's clock); 0: no.
        """
        self.client = client
        self.publisher_id = publisher_id
        self.stream = stream
        self.maxlen = maxlen
        self.max_age_s = max_age_s
        self.wait_replicas = wait_replicas  # the floor: fewer is not confirmed
        self.wait_target = WaitTarget(client)
        self.wait_timeout_ms = wait_timeout_ms
        self.publish_channels = publish_channels
        self.next_seq = first_seq
        self.retry_for_s = retry_for_s
        self.last_error: str | None = None

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings, publisher_id: str | None,
                      **kw: Any) -> TickProducer:
        options: dict[str, Any] = {
            "stream": settings.stream, "maxlen": settings.stream_maxlen, "max_age_s": settings.stream_max_age,
            "wait_replicas": settings.wait_replicas, "wait_timeout_ms": settings.wait_timeout_ms,
            "retry_for_s": settings.failover_timeout,
        }
        return cls(client, publisher_id, **{**options, **kw})

    def stamp(self, tick: Tick | Mapping[str, Any]) -> Stamped:
        """Validate, add publisher/seq (if this producer has an id) and encode."""
        if not isinstance(tick, Tick):
            tick = msgspec.convert(dict(tick), Tick)
        seq: int | None = None
        if self.publisher_id is not None:
            if self.next_seq >= SEQ_LIMIT:
                raise OverflowError("seq exhausted: start a new publisher id")
            seq = self.next_seq
            self.next_seq += 1
            tick = msgspec.structs.replace(tick, publisher=self.publisher_id, seq=seq)
        return Stamped(tick.ticker, seq, encode(tick), to_packed(tick))

    def send(self, ticks: Iterable[Tick | Mapping[str, Any]]) -> int:
        """Stamp and write ticks until confirmed; return the tries it took. Raises NotConfirmed."""
        return self.confirm([self.stamp(t) for t in ticks])

    def confirm(self, batch: Sequence[Stamped], stop: Callable[[], bool] = lambda: False) -> int:
        """Write batch until confirmed; return the tries it took.

        Raises NotConfirmed once retry_for_s has passed, or when stop() says so.
        """
        deadline = None if self.retry_for_s is None else time.monotonic() + self.retry_for_s
        tries = 0
        while True:
            tries += 1
            if self.try_once(batch):
                return tries
            if stop() or (deadline is not None and time.monotonic() >= deadline):
                raise NotConfirmed([b.seq for b in batch], tries, self.last_error)
            time.sleep(min(0.05 * tries, 0.25))

    def try_once(self, batch: Sequence[Stamped]) -> bool:
        """One attempt: True if the stream has every tick and enough replicas confirmed it."""
        try:
            wanted = self.wait_target.wanted(self.wait_replicas)
            pipe = self.client.pipeline(transaction=False)
            for b in batch:
                pipe.xadd(self.stream, b.fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
                if self.publish_channels:
                    pipe.publish(CONTRACT.channel_all_ticks, b.data)
                    pipe.publish(CONTRACT.ticker_channel(b.ticker), b.data)
            if self.max_age_s:
                # Once a batch: XADD takes one trim rule, and MAXLEN stays the hard cap.
                oldest_ms = int((time.time() - self.max_age_s) * 1000)
                pipe.xtrim(self.stream, minid=f"{max(oldest_ms, 0)}-0", approximate=True)
            if wanted:
                pipe.wait(wanted, self.wait_timeout_ms)
            results = pipe.execute()
        except RETRYABLE as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("publish failed; will resend batch", extra={"ctx": {"error": str(exc)}})
            return False
        except redis.ResponseError as exc:  # NOREPLICAS on an isolated master, among others
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("publish refused; will resend batch", extra={"ctx": {"error": str(exc)}})
            return False
        if wanted and int(results[-1]) < wanted:
            self.wait_target.short()
            if int(results[-1]) < self.wait_replicas:
                self.last_error = f"WAIT: {results[-1]} of {self.wait_replicas} replicas"
                return False
        return True

