"""The seen-window: no Redis allocation a producer controls, keys expire, audits still read it."""

from __future__ import annotations

import random
from typing import Any

import redis
from servers import Proc
from tickstockpl.contract import CONTRACT
from tickstockpl.effects import SEGMENT_ARG, _ranges
from tickstockpl.seen import MARK, SEGMENT_BITS, marked, window_segments
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good

PREFIX = CONTRACT.seen_prefix


def used_memory(r: redis.Redis) -> int:
    info: Any = r.info("memory")
    return int(info["used_memory"])


def test_top_seq_from_a_new_publisher_costs_redis_less_than_a_megabyte(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    w = Running(redis_env)
    try:
        r.xadd(STREAM, {"data": good(1, publisher="warmup")})
        w.wait(lambda: w.consumer.processed == 1)
        before = used_memory(r)
        r.xadd(STREAM, {"data": good(2**32 - 1, publisher="newcomer", price=100.0)})
        w.wait(lambda: w.consumer.processed == 2 and r.xpending(STREAM, GROUP)["pending"] == 0)
        grown = used_memory(r) - before
    finally:
        w.stop()
    print(f"Redis used_memory grew by {grown} bytes for seq 2**32-1")
    assert r.xlen(DEAD_LETTER_STREAM) == 0, "a valid tick"
    assert marked(r, PREFIX, "newcomer", [2**32 - 1]) == {2**32 - 1}
    assert grown < 1 << 20, grown  # it was 512 MiB: one bitmap up to bit 2**32-1


def test_window_follows_the_high_water_mark_and_keys_expire(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    window = 4 * SEGMENT_BITS
    w = Running(redis_env, TICKSTOCKPL_SEEN_WINDOW=str(window), TICKSTOCKPL_SEEN_TTL="3600")
    try:
        first = [0, 1, SEGMENT_BITS + 5, 3 * SEGMENT_BITS]
        for q in first:
            r.xadd(STREAM, {"data": good(q, publisher="jumper", price=100.0)})
        w.wait(lambda: w.consumer.processed == 4)
        assert marked(r, PREFIX, "jumper", first) == set(first)
        assert sorted(r.keys(PREFIX + "jumper:*")) == [PREFIX.encode() + k for k in
                                                       (b"jumper:0", b"jumper:1", b"jumper:3", b"jumper:hwm")]
        # A jump of 10 segments: the old ones fell out of the window and are gone.
        top = 13 * SEGMENT_BITS + 7
        r.xadd(STREAM, {"data": good(top, publisher="jumper", price=100.0)})
        w.wait(lambda: w.consumer.processed == 5)
        assert sorted(r.keys(PREFIX + "jumper:*")) == [PREFIX.encode() + k for k in (b"jumper:13", b"jumper:hwm")]
        # A late tick below the window is not marked (it would need a deleted segment).
        r.xadd(STREAM, {"data": good(5, publisher="jumper")})
        # One just inside the window is.
        r.xadd(STREAM, {"data": good(10 * SEGMENT_BITS, publisher="jumper", price=100.0)})
        w.wait(lambda: w.consumer.processed == 7 and r.xpending(STREAM, GROUP)["pending"] == 0)
    finally:
        w.stop()
    assert marked(r, PREFIX, "jumper", [5, 10 * SEGMENT_BITS, top]) == {10 * SEGMENT_BITS, top}
    assert not r.exists(PREFIX + "jumper:0")
    assert int(r.get(PREFIX + "jumper:hwm") or 0) == top
    for key in r.keys(PREFIX + "jumper:*"):
        assert 3500 < r.ttl(key) <= 3600, key


def test_mark_sets_exactly_the_seqs_given_across_bytes_and_segments(redis_server: Proc) -> None:
    """Whole bytes by BITFIELD, their edges by SETBIT: every run length and alignment, no bit more or less."""
    r = redis_server.client()
    rng = random.Random(7)
    cases: list[set[int]] = [{0}, {7}, {8}, set(range(0, 8)), set(range(1, 9)), set(range(7, 17)), set(range(3, 5)),
                             set(range(8, 24)), set(range(9, 23)), set(range(SEGMENT_BITS - 3, SEGMENT_BITS + 12)),
                             set(range(0, 9000))]
    for _ in range(60):
        start = rng.randrange(0, 3 * SEGMENT_BITS)
        cases.append({q for a in range(rng.randint(1, 5))
                      for q in range(start + a * 40 + rng.randrange(0, 20), start + a * 40 + rng.randrange(20, 60))})
    for n, seqs in enumerate(cases):
        base = f"{PREFIX}mark{n}"
        stale = r.eval(MARK, 1, base, SEGMENT_ARG, window_segments(8 * SEGMENT_BITS), 60, _ranges(sorted(seqs)))
        assert stale == 0
        span = list(range(max(0, min(seqs) - 20), max(seqs) + 21))
        assert marked(r, PREFIX, f"mark{n}", span) == seqs, sorted(seqs)[:5]
