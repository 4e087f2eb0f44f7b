"""The seen-window: which (publisher, seq) ticks were committed, in bounded memory.

A publisher's seqs are split into segments of SEGMENT_BITS bits, each its own
bitmap key `{prefix}{publisher}:{seq // SEGMENT_BITS}` (8 KiB at most), plus
`{prefix}{publisher}:hwm`, the highest seq marked. Only segments within
TICKSTOCKPL_SEEN_WINDOW seqs of that high-water mark are kept: when it moves
on, segments that fell behind are deleted, and seqs below the window are not
marked. Every key expires after TICKSTOCKPL_SEEN_TTL. So one tick, whatever
its seq, allocates at most one segment (it was one bitmap up to 512 MiB), and
a publisher holds at most window/8 bytes.
"""

from __future__ import annotations

from typing import Any

import redis

SEGMENT_BITS = 1 << 16

# KEYS[i]: prefix..publisher, ARGV[1] segment bits, ARGV[2] window in segments,
# ARGV[3] ttl s, ARGV[3+i] "a-b,c-d" seq ranges of KEYS[i]. Returns seqs not
# marked because they were below the window. Key names are built here: the
# segments a jump drops are only known on the server (no Redis Cluster).
# Dropped by PEXPIRE 1, not DEL: the consumer's ACL grants expire, not del.
MARK = """
local seg, win, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
-- Bits x..y of key: whole bytes by BITFIELD (one call per 1000 bytes), the rest by SETBIT;
-- a SETBIT per seq made this script most of a batch's time in Redis.
local function mark(key, x, y)
  local fb, lb = math.ceil(x / 8), math.floor((y + 1) / 8) - 1
  if fb > lb then fb = y + 1 end
  for q = x, math.min(fb * 8 - 1, y) do redis.call('SETBIT', key, q, 1) end
  local ops = {}
  for k = fb, lb do
    local n = #ops
    ops[n + 1], ops[n + 2], ops[n + 3], ops[n + 4] = 'SET', 'u8', '#' .. k, 255
    if n + 4 >= 4000 then redis.call('BITFIELD', key, unpack(ops)); ops = {} end
  end
  if #ops > 0 then redis.call('BITFIELD', key, unpack(ops)) end
  for q = math.max((lb + 1) * 8, fb * 8), y do redis.call('SETBIT', key, q, 1) end
end
local stale = 0
for i = 1, #KEYS do
  local base, spec = KEYS[i], ARGV[3 + i]
  local old = tonumber(redis.call('GET', base .. ':hwm') or '-1')
  local top = old
  for a, b in string.gmatch(spec, '(%d+)-(%d+)') do
    if tonumber(b) > top then top = tonumber(b) end
  end
  local lo = math.floor(top / seg) - win + 1
  if old >= 0 and lo > 0 then
    local oldseg = math.floor(old / seg)
    for s = math.max(oldseg - win + 1, 0), math.min(lo - 1, oldseg) do
      redis.call('PEXPIRE', base .. ':' .. s, 1)
    end
  end
  for a, b in string.gmatch(spec, '(%d+)-(%d+)') do
    a, b = tonumber(a), tonumber(b)
    if a < lo * seg then
      stale = stale + math.min(b + 1, lo * seg) - a
      a = lo * seg
    end
    if a <= b then
      for s = math.floor(a / seg), math.floor(b / seg) do
        local key, first = base .. ':' .. s, s * seg
        mark(key, math.max(a, first) - first, math.min(b, first + seg - 1) - first)
        redis.call('EXPIRE', key, ttl)
      end
    end
  end
  redis.call('SET', base .. ':hwm', top, 'EX', ttl)
end
return stale
"""


def window_segments(window: int) -> int:
    return max(1, -(-window // SEGMENT_BITS))


def segment_key(prefix: str, publisher: str, seq: int) -> str:
    return f"{prefix}{publisher}:{seq // SEGMENT_BITS}"


def marked(client: redis.Redis, prefix: str, publisher: str, seqs: list[int]) -> set[int]:
    """Which of seqs have their bit set (one GET per segment)."""
    segments: dict[int, bytes] = {}
    for s in {q // SEGMENT_BITS for q in seqs}:
        raw: Any = client.get(f"{prefix}{publisher}:{s}")
        segments[s] = bytes(raw or b"")
    out = set()
    for q in seqs:
        bitmap, bit = segments[q // SEGMENT_BITS], q % SEGMENT_BITS
        if bit >> 3 < len(bitmap) and bitmap[bit >> 3] >> (7 - (bit & 7)) & 1:
            out.add(q)
    return out
