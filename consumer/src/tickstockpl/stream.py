"""Stream source: the durable stream read through the consumer group, at-least-once.

Fetch drains our own pending entries (XREADGROUP id 0) after every reopen,
then reads new ones in batches; every claim interval it XAUTOCLAIMs entries
idle longer than the process timeout from consumers that died. An entry
delivered more than TICKSTOCKPL_MAX_DELIVERIES times goes to the dead-letter
stream. The ack (XACK) is queued by Effects after the side effects. After a
failover the new master may have lost our acks (async replication) or even
the group: the loop reopens this source, which recreates the group (BUSYGROUP
if it exists) and re-drains; NOGROUP at any time reopens it too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import ResponseError

from tickstockpl.contract import CONTRACT
from tickstockpl.depth import QueueDepth
from tickstockpl.effects import Batch
from tickstockpl.metrics import Metrics
from tickstockpl.settings import Settings
from tickstockpl.ticks import DATA_FIELD, FORM_FIELD, Message, payload
from tickstockpl.worker import Fetched

log = logging.getLogger(__name__)
Entry = tuple[bytes, dict[bytes, bytes] | None]
STATS_INTERVAL_S = 5.0

# KEYS[1] stream; ARGV[1] group, ARGV[2] ids (space separated). One argument
# instead of thousands: packing arguments costs more than the server work.
_ACK = """
local ids = {}
for id in string.gmatch(ARGV[2], '%S+') do
  ids[#ids + 1] = id
  if #ids == 4000 then redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)); ids = {} end
end
if #ids > 0 then redis.call('XACK', KEYS[1], ARGV[1], unpack(ids)) end
return 0
"""


class StreamSource:
    kind = "stream"
    seen_prefix = CONTRACT.seen_prefix

    def __init__(self, settings: Settings, client: redis.Redis, metrics: Metrics) -> None:
        self.settings = settings
        self.client = client
        self.metrics = metrics
        self._group_ready = False
        self._drain_from: bytes | None = b"0"
        self._claim_from = b"0-0"
        self._next_claim = 0.0
        self._next_stats = 0.0
        self.depth = QueueDepth()

    @property
    def ready(self) -> bool:
        return self._group_ready

    @property
    def draining(self) -> bool:
        return self._drain_from is not None

    def describe(self) -> dict[str, Any]:
        return {"stream": self.settings.stream, "group": self.settings.group}

    def stats(self) -> dict[str, Any]:
        return {}

    def reopen(self) -> None:
        s = self.settings
        self._group_ready = False
        # Whatever we knew came from another master, or from before a restart.
        self.depth.reset()
        self.metrics.queue_depth.set(float("nan"))
        try:
            # id 0: a group recreated after a failover re-reads what the stream
            # still holds; duplicates are harmless, losses are not.
            self.client.xgroup_create(s.stream, s.group, id="0", mkstream=True)
            log.info("created consumer group", extra={"ctx": {"group": s.group}})
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True
        self._drain_from = b"0"  # the new master may have lost our acks
        self._stats()  # now, not after the drain: the old master's figures are stale
        self._next_stats = time.monotonic() + STATS_INTERVAL_S

    def lost_state(self, exc: ResponseError) -> bool:
        if "NOGROUP" in str(exc):
            self._group_ready = False
            return True
        return False

    def close(self) -> None:
        pass

    def observe(self, batch: Batch) -> None:
        pass

    def queue_ack(self, pipe: Pipeline, ids: list[bytes]) -> None:
        if ids:
            s = self.settings
            # EVAL, not EVALSHA: a freshly promoted master has an empty script cache.
            pipe.eval(_ACK, 1, s.stream, s.group, b" ".join(ids))

    def fetch(self) -> Fetched | None:
        s = self.settings
        if self._drain_from is not None:
            entries = self._read(self._drain_from, block=None)
            if not entries:
                self._drain_from = None
                return None
            self._drain_from = entries[-1][0]
            return self._sort(entries, check_deliveries=True)
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + STATS_INTERVAL_S
            self._stats()
        if now >= self._next_claim:
            self._next_claim = now + s.claim_interval
            claimed = self._claim()
            if claimed:
                return self._sort(claimed, check_deliveries=True)
        entries = self._read(b">", block=s.block_ms)
        return self._sort(entries, check_deliveries=False) if entries else None

    # -- redis --------------------------------------------------------------
    def _read(self, from_id: bytes, block: int | None) -> list[Entry]:
        s = self.settings
        reply: Any = self.client.xreadgroup(
            s.group, s.consumer_id, {s.stream: from_id}, count=s.batch_size, block=block
        )
        if not reply:
            return []
        return list(reply[0][1])

    def _claim(self) -> list[Entry]:
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
        return entries

    def _stats(self) -> None:
        s = self.settings
        pipe = self.client.pipeline(transaction=False)
        pipe.xinfo_groups(s.stream)
        pipe.xinfo_stream(s.stream)  # after the group: see QueueDepth.update
        groups, stream = pipe.execute()
        for g in groups:
            name = g.get("name")
            if name in (s.group, s.group.encode()):
                self.metrics.pending.set(g.get("pending") or 0)
                lag = g.get("lag")
                if lag is not None:
                    self.metrics.stream_lag.set(lag)
                depth = self.depth.update(g, stream)
                self.metrics.queue_depth.set(float("nan") if depth is None else depth)

    def _deliveries(self, entries: list[Entry]) -> dict[bytes, int]:
        s = self.settings
        rows: Any = self.client.xpending_range(
            s.stream, s.group, min=entries[0][0], max=entries[-1][0],
            count=len(entries) * 2, consumername=s.consumer_id,
        )
        return {r["message_id"]: r["times_delivered"] for r in rows}

    def _sort(self, entries: list[Entry], check_deliveries: bool) -> Fetched:
        """Entries to process, to dead-letter, or only to ack; all of them are acked."""
        over: set[bytes] = set()
        if check_deliveries:
            counts = self._deliveries(entries)
            over = {i for i, n in counts.items() if n > self.settings.max_deliveries}
        out = Fetched(ack_ids=[e[0] for e in entries])
        trimmed = 0
        for entry_id, fields in entries:
            if not fields:  # trimmed while pending (redis-py gives {}; an entry has >= 1 field)
                trimmed += 1
                continue
            # Both forms, so producers can switch while consumers run (docs/interface.md).
            raw: Message | None = fields.get(DATA_FIELD)
            if raw is None and FORM_FIELD in fields:
                raw = fields
            if entry_id in over or raw is None:
                reason = "max_deliveries" if entry_id in over else "missing_data_field"
                out.dead.append((reason, f"entry {entry_id.decode()}", payload(raw or fields), entry_id))
            else:
                out.items.append((entry_id, raw))
        if trimmed:
            log.info("acked entries trimmed while pending", extra={"ctx": {"count": trimmed}})
        return out
