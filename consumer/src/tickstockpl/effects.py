"""The side effects of a processed batch, committed before anything is acked.

Order matters for at-least-once without duplicate pattern events:

1. one pipeline: SET NX each pattern key (claims its pattern_id), mark the
   seen-window of each publisher (bounded, seen.py; drills prove no loss
   with it), XADD dead letters, and last SET this consumer's guard key to a
   fresh token;
2. WAIT for every replica in sync (at least TICKSTOCKPL_WAIT_REPLICAS, see
   replicas.py) if new patterns were claimed, so the claims survive a failover,
   even one that also loses a replica;
3. one script: if the guard holds the token, PUBLISH the newly claimed
   patterns and ack the source's ids (XACK in stream mode); if not, refuse
   (CommitMoved) and leave the batch pending.

The guard is there because the client retries a command on the new master
after a failover: a WAIT or an ack sent after the master died would run on a
server that may lack step 1 (replication is asynchronous), and the batch
would be acked without its marks (a tick lost) or published without its
claims (an event sent twice on redelivery). Replication keeps order, so a
server that has the token has all of step 1. Steps 1 and 3 are apart because
a pipeline is not a transaction: Redis would run an ack queued behind a
refused effect (say, WRONGTYPE). If the master dies before 2, the claims may
be lost and the redelivered ticks claim and publish them once. If it dies
between 2 and 3 the claims survive and the event is not re-sent: we prefer a
missed event to a second one.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

import msgspec
import redis
from redis.client import Pipeline

from tickstockpl.connection import RETRYABLE
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
    def ack_target(self) -> tuple[str, str] | None:
        """(stream, group) the batch's ids are acked in; None: nothing to ack (pub/sub)."""
        ...


class CommitMoved(redis.RedisError):
    """The master changed between the two halves of a commit: the batch stays pending."""


GUARD_TTL_MS = 60_000  # far longer than one commit; one key per consumer id
# The second half of a commit, all or nothing and only where the first half is.
# KEYS: guard, [stream]; ARGV: token, pattern channel, group, ids, events... The ids are one
# space-separated argument instead of thousands: packing arguments costs more than the work.
COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('TSMOVED the first half of this commit is not on this server')
end
redis.call('SET', KEYS[1], '-', 'KEEPTTL')  -- spent: the same commit sent again is refused
for i = 5, #ARGV do redis.call('PUBLISH', ARGV[2], ARGV[i]) end
if KEYS[2] then
  local ids = {}
  for id in string.gmatch(ARGV[4], '%S+') do
    ids[#ids + 1] = id
    if #ids == 4000 then redis.call('XACK', KEYS[2], ARGV[3], unpack(ids)); ids = {} end
  end
  if #ids > 0 then redis.call('XACK', KEYS[2], ARGV[3], unpack(ids)) end
end
return 0
"""


class Effects:
    def __init__(
        self, client: redis.Redis, settings: Settings, metrics: Metrics, seen_prefix: str = CONTRACT.seen_prefix,
        once: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        """once: a context in which the client sends a failed call only once (BudgetRetry.once)."""
        self.client = client
        self.once = once
        self.seen_prefix = seen_prefix
        self.settings = settings
        self.metrics = metrics
        self._bad_log = Throttle(BAD_TICK_LOG_RATE, BAD_TICK_LOG_BURST)
        self._wait_log = Throttle(1.0, 5)  # a stalled replica makes every batch short
        self.wait_target = WaitTarget(client)
        self.guard = CONTRACT.commit_guard_prefix + settings.consumer_id

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
        token = secrets.token_hex(8)
        pipe.set(self.guard, token, px=GUARD_TTL_MS)
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
        target = acker.ack_target() if batch.ack_ids else None
        keys = [self.guard, target[0]] if target else [self.guard]
        try:
            # Once: run again on a new master it could publish twice. EVAL, not
            # EVALSHA: a freshly promoted master has an empty script cache.
            with self.once():
                self.client.eval(COMMIT, len(keys), *keys, token, CONTRACT.channel_patterns,
                                 target[1] if target else "", b" ".join(batch.ack_ids) if target else b"",
                                 *(_encoder.encode(e) for e in claimed))
        except RETRYABLE as exc:
            raise CommitMoved(f"the master went away during the commit: {exc}") from exc
        except redis.ResponseError as exc:
            if str(exc).startswith("TSMOVED"):
                raise CommitMoved(str(exc)) from None
            raise
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
