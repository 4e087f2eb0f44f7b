"""The side effects of a processed batch, committed before anything is acked.

Order matters for at-least-once without duplicate pattern events:

1. one pipeline: SET NX each pattern key (claims its pattern_id), mark the
   seen-window of each publisher (bounded, seen.py; drills prove no loss
   with it), XADD dead letters;
2. WAIT for every replica in sync (at least TICKSTOCKPL_WAIT_REPLICAS, see
   replicas.py) if new patterns were claimed, so the claims survive a failover,
   even one that also loses a replica;
3. a second pipeline: PUBLISH the newly claimed patterns, then the source's
   ack (XACK in stream mode).

The ack waits for a second round trip because a pipeline is not a
transaction: Redis would run an ack queued behind a refused effect (say,
WRONGTYPE), and the batch would be acked without it. If the master dies
before 2, the claims may be lost and the redelivered ticks claim and publish
them once. If it dies between 2 and 3 the claims survive and the event is not
re-sent: we prefer a missed event to a second one. A Lua "SET NX then
PUBLISH" would publish before the claim is replicated, so a failover could
replay it; hence the WAIT in between.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
import redis
from redis.client import Pipeline

from tickstockpl.contract import CONTRACT
from tickstockpl.logs import Throttle
from tickstockpl.metrics import Metrics
from tickstockpl.patterns import PatternEvent
from tickstockpl.replicas import WaitTarget
from tickstockpl.seen import MARK, SEGMENT_BITS, window_segments
from tickstockpl.settings import Settings

log = logging.getLogger(__name__)
SEGMENT_ARG = str(SEGMENT_BITS)
BAD_TICK_LOG_RATE, BAD_TICK_LOG_BURST = 5.0, 20  # lines/s: ~130 MB a day at worst
_encoder = msgspec.json.Encoder()

def _ranges(seqs: list[int]) -> bytes:
    """[1,2,3,7,9,10] -> b"1-3,7-7,9-10" (seqs usually arrive in runs)."""
    out: list[str] = []
    ordered = sorted(set(seqs))
    start = prev = ordered[0]
    for q in ordered[1:]:
        if q != prev + 1:
            out.append(f"{start}-{prev}")
            start = q
        prev = q
    out.append(f"{start}-{prev}")
    return ",".join(out).encode()


@dataclass(slots=True)
class Batch:
    """What one batch of messages produced."""

    seen: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    patterns: list[PatternEvent] = field(default_factory=list)
    # (reason, detail, raw payload, stream entry id or b"")
    dead: list[tuple[str, str, bytes, bytes]] = field(default_factory=list)
    ack_ids: list[bytes] = field(default_factory=list)
    tick_times: list[float] = field(default_factory=list)
    valid: int = 0


class Acker(Protocol):
    def queue_ack(self, pipe: Pipeline, ids: list[bytes]) -> None: ...


class Effects:
    def __init__(
        self, client: redis.Redis, settings: Settings, metrics: Metrics, seen_prefix: str = CONTRACT.seen_prefix
    ) -> None:
        self.client = client
        self.seen_prefix = seen_prefix
        self.settings = settings
        self.metrics = metrics
        self._bad_log = Throttle(BAD_TICK_LOG_RATE, BAD_TICK_LOG_BURST)
        self._wait_log = Throttle(1.0, 5)  # a stalled replica makes every batch short
        self.wait_target = WaitTarget(client)

    def commit(self, batch: Batch, acker: Acker) -> list[PatternEvent]:
        """Apply the batch's side effects, then ack it. Returns events published."""
        s = self.settings
        pipe = self.client.pipeline(transaction=False)
        for event in batch.patterns:
            pipe.set(CONTRACT.pattern_prefix + event.pattern_id, b"1", nx=True, ex=s.pattern_ttl)
        now_ms = int(time.time() * 1000)
        keep, cap = s.dead_letter_payload_bytes, s.dead_letter_cap
        for reason, detail, raw, entry_id in batch.dead:
            pipe.xadd(
                s.dead_letter_stream,
                {
                    "reason": reason,
                    "detail": detail[:500],
                    "payload": raw[:keep],  # with the cap, bounds the stream in bytes
                    "entry_id": entry_id,
                    "consumer": s.consumer_id,
                    "at_ms": now_ms,
                },
                maxlen=cap,
                approximate=True,
            )
        self._mark(pipe, batch.seen)
        results = pipe.execute()  # raises if Redis refused any effect: no ack then

        claimed = [e for e, ok in zip(batch.patterns, results, strict=False) if ok]
        self.metrics.pattern_repeats.inc(len(batch.patterns) - len(claimed))
        wanted = self.wait_target.wanted(s.wait_replicas) if claimed else 0
        if wanted:
            acked = self.client.wait(wanted, s.wait_timeout_ms)
            if acked < wanted:
                self.wait_target.short()
                if self._wait_log.allow():
                    log.warning(
                        "pattern claims not confirmed by replicas; publishing anyway",
                        extra={"ctx": {"wanted": wanted, "got": acked,
                                       "suppressed_before": self._wait_log.take_dropped()}},
                    )
        pipe = self.client.pipeline(transaction=False)
        for event in claimed:
            pipe.publish(CONTRACT.channel_patterns, _encoder.encode(event))
        acker.queue_ack(pipe, batch.ack_ids)
        pipe.execute()
        for event in claimed:
            self.metrics.patterns.labels(event.pattern_type).inc()
        for reason, detail, _raw, entry_id in batch.dead:
            self.metrics.bad_ticks.labels(reason).inc()
            if self._bad_log.allow():
                log.warning("bad tick dead-lettered", extra={"ctx": {
                    "reason": reason, "entry_id": entry_id.decode(errors="replace") or None,
                    "detail": detail[:200], "suppressed_before": self._bad_log.take_dropped()}})
        return claimed

    def _mark(self, pipe: Pipeline, seen: Mapping[str, list[int]]) -> None:
        """Queue one script call that sets the seen bits (seen.py), as seq ranges: a few
        range strings instead of thousands of arguments, which cost more to pack than to run."""
        if not seen:
            return
        s = self.settings
        keys = [self.seen_prefix + p for p in seen]
        ranges = [_ranges(seqs) for seqs in seen.values()]
        # EVAL, not EVALSHA: a freshly promoted master has an empty script
        # cache, and the server caches the compiled body by its hash anyway.
        pipe.eval(MARK, len(keys), *keys, SEGMENT_ARG, window_segments(s.seen_window), s.seen_ttl, *ranges)
