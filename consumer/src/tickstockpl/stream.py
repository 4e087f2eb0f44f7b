"""Stream source: the durable stream read through the consumer group, at-least-once.

Fetch drains our own pending entries (_DRAIN, below) after every reopen,
then reads new ones in batches; every claim interval it XAUTOCLAIMs entries
idle longer than the process timeout from consumers that died. An entry
delivered more than TICKSTOCKPL_MAX_DELIVERIES times goes to the dead-letter
stream. An entry over TICKSTOCKPL_MAX_ENTRY_BYTES goes there too, unread
(too_large). The ack (XACK) is queued by Effects after the side effects. After a
failover the new master may have lost our acks (async replication) or even
the group: the loop reopens this source, which recreates the group (BUSYGROUP
if it exists) and re-drains; NOGROUP at any time reopens it too.

Memory: entry sizes are unknown before reading, so reads of new entries are
capped twice. The connection drops a reply over TICKSTOCKPL_READ_BUDGET_BYTES
(ReplyTooLarge), and after a big entry reads ask for one entry, then twice
as many each batch. What such a read delivered is pending for us: the drain
re-reads it through _DRAIN, which measures entries on the server and returns
only a marker and a prefix of those too large, within the budget. So no
reply is too large twice: no loop of timeout, reconnect, re-read.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from redis.exceptions import ResponseError

from tickstockpl.connection import ReplyTooLarge
from tickstockpl.contract import CONTRACT
from tickstockpl.depth import QueueDepth
from tickstockpl.effects import Batch
from tickstockpl.metrics import Metrics
from tickstockpl.settings import Settings
from tickstockpl.ticks import DATA_FIELD, FORM_FIELD, PACKED_FIELD, Message, payload
from tickstockpl.worker import Fetched

log = logging.getLogger(__name__)
Entry = tuple[bytes, dict[bytes, bytes] | None]
STATS_INTERVAL_S = 5.0

# KEYS[1] stream. XINFO STREAM without its first and last entries: a
# producer decides their size, and the reply must stay within the read budget.
_STREAM_INFO = """
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local out = {}
for i = 1, #info, 2 do
  if info[i] == 'length' or info[i] == 'last-generated-id' then
    out[#out + 1] = info[i]
    out[#out + 1] = info[i + 1]
  end
end
return out
"""

# Our pending entries after ARGV[3], one XREADGROUP at a time so each is
# measured before the next is read. KEYS[1] stream; ARGV: group, consumer,
# from id, count, max entry bytes, prefix bytes, reply budget. An entry over
# the max comes back as {id, {'data', prefix}, size} (a third element no
# producer can forge); a trimmed one as {id, false}. Stops before the reply
# or what it read passes budget.
_DRAIN = """
local out, used, read = {}, 0, 0
local from, max, keep, budget = ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
for _ = 1, tonumber(ARGV[4]) do
  local reply = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], from)
  local entry = reply[1][2][1]
  if not entry then break end
  local fields, size = entry[2], 0
  if fields then
    for i = 1, #fields do size = size + #fields[i] end
  end
  local sent = size
  if size > max then
    local data = fields[2]
    for i = 1, #fields, 2 do if fields[i] == 'data' then data = fields[i + 1] end end
    fields = {'data', string.sub(data, 1, keep)}
    sent = keep
  end
  if #out > 0 and used + sent > budget then break end
  out[#out + 1] = {entry[1], fields, sent < size and size or nil}
  from, used, read = entry[1], used + sent, read + size
  if read > budget then break end
end
return out
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
        # Entries asked for by the next read of new ones: 1 after a big one, doubling back to batch_size.
        self._count = settings.batch_size

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

    def reopen(self, new_master: bool) -> None:
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

    def ack_target(self) -> tuple[str, str] | None:
        return self.settings.stream, self.settings.group

    def fetch(self) -> Fetched | None:
        try:
            return self._fetch()
        except ReplyTooLarge:
            # Delivered to us but never read: it is pending for us; the drain measures it.
            log.warning("a read outgrew the read budget; re-reading it entry by entry",
                        extra={"ctx": {"budget_bytes": self.settings.read_budget_bytes, "count": self._count}})
            self._count = 1
            self._drain_from = b"0"
            return None

    def _fetch(self) -> Fetched | None:
        s = self.settings
        if self._drain_from is not None:
            entries, measured = self._drain(self._drain_from)
            if not entries:
                self._drain_from = None
                return None
            self._drain_from = entries[-1][0]
            return self._sort(entries, check_deliveries=True, measured=measured)
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
        if not entries:
            return None
        fetched = self._sort(entries, check_deliveries=False)
        big = any(reason == "too_large" for reason, *_ in fetched.dead)
        self._count = 1 if big else min(s.batch_size, self._count * 2)
        return fetched

    # -- redis --------------------------------------------------------------
    def _read(self, from_id: bytes, block: int | None) -> list[Entry]:
        s = self.settings
        reply: Any = self.client.xreadgroup(
            s.group, s.consumer_id, {s.stream: from_id}, count=self._count, block=block
        )
        if not reply:
            return []
        return list(reply[0][1])

    def _drain(self, from_id: bytes) -> tuple[list[Entry], dict[bytes, int]]:
        """Our pending entries after from_id, and the sizes of those too large to bring."""
        s = self.settings
        # EVAL, not EVALSHA: a freshly promoted master has an empty script cache.
        rows: Any = self.client.eval(
            _DRAIN, 1, s.stream, s.group, s.consumer_id, from_id, s.batch_size, s.max_entry_bytes,
            s.dead_letter_payload_bytes, s.read_budget_bytes // 2,
        )
        out: list[Entry] = []
        measured: dict[bytes, int] = {}
        for entry_id, flat, *size in rows:
            out.append((entry_id, dict(zip(flat[::2], flat[1::2], strict=True)) if flat else None))
            if size:
                measured[entry_id] = int(size[0])
        return out, measured

    def _claim(self) -> list[Entry]:
        s = self.settings
        reply: Any = self.client.xautoclaim(
            s.stream, s.group, s.consumer_id,
            min_idle_time=int(s.process_timeout * 1000),
            start_id=self._claim_from, count=self._count,
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
        pipe.eval(_STREAM_INFO, 1, s.stream)  # after the group: see QueueDepth.update
        groups, flat = pipe.execute()
        stream = {k.decode() if isinstance(k, bytes) else k: v for k, v in zip(flat[::2], flat[1::2], strict=True)}
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

    def _sort(self, entries: list[Entry], check_deliveries: bool, measured: dict[bytes, int] | None = None) -> Fetched:
        """Entries to process, to dead-letter, or only to ack; all of them are acked."""
        over: set[bytes] = set()
        if check_deliveries:
            counts = self._deliveries(entries)
            over = {i for i, n in counts.items() if n > self.settings.max_deliveries}
        out = Fetched(ack_ids=[e[0] for e in entries])
        trimmed = 0
        limit = self.settings.max_entry_bytes
        for entry_id, fields in entries:
            if not fields:  # trimmed while pending (redis-py gives {}; an entry has >= 1 field)
                trimmed += 1
                continue
            # Every form, so producers can switch while consumers run (docs/interface.md).
            data = fields.get(DATA_FIELD)
            raw: Message | None = data
            if raw is None and (PACKED_FIELD in fields or FORM_FIELD in fields):
                raw = fields
            if len(fields) == 1:  # data or packed, the usual entries: measured cheaply
                ((name, value),) = fields.items()
                size = len(name) + len(value)
            else:
                size = sum(map(len, fields)) + sum(map(len, fields.values()))
            if measured and entry_id in measured:
                size = measured[entry_id]  # by _DRAIN, which brought only a prefix
            if size > limit:
                detail = f"entry {entry_id.decode()} is {size} bytes, over {limit}"
                prefix = payload(raw or fields)[:self.settings.dead_letter_payload_bytes]
                out.dead.append(("too_large", detail, prefix, entry_id))
            elif entry_id in over or raw is None:
                reason = "max_deliveries" if entry_id in over else "missing_data_field"
                out.dead.append((reason, f"entry {entry_id.decode()}", payload(raw or fields), entry_id))
            else:
                out.items.append((entry_id, raw))
        if trimmed:
            log.info("acked entries trimmed while pending", extra={"ctx": {"count": trimmed}})
        return out
