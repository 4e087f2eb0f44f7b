"""Stream source behaviours that bench/mutation found untested, on a real redis-server."""

from __future__ import annotations

import time

from redis.exceptions import ResponseError
from servers import Proc
from tickstockpl.metrics import Metrics
from tickstockpl.settings import Settings
from tickstockpl.stream import StreamSource
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good


def test_delivery_counts_are_ours_even_among_other_consumers_pending_entries(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """A poison entry of ours sits behind many entries another live consumer holds: still dead-lettered."""
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    r.xadd(STREAM, {"data": good(0)})
    r.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=1)
    for i in range(10):
        r.xadd(STREAM, {"data": good(100 + i)})
    r.xreadgroup(GROUP, "busy-1", {STREAM: ">"}, count=10)  # alive, working on them
    poison = r.xadd(STREAM, {"data": good(1)})
    r.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=1)
    for _ in range(3):  # delivered 4 times, 5 with c1's re-read: over 3
        r.xclaim(STREAM, GROUP, "c1", 0, [poison])
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_MAX_DELIVERIES="3",
                TICKSTOCKPL_PROCESS_TIMEOUT="600", TICKSTOCKPL_CLAIM_INTERVAL="600")
    w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 1 and w.consumer.processed == 1 and not w.consumer.source.draining)
    w.stop()
    (_, dead), = r.xrange(DEAD_LETTER_STREAM)
    assert dead[b"reason"] == b"max_deliveries" and dead[b"entry_id"] == poison
    assert w.consumer.processed == 1  # the first entry only
    assert r.xpending(STREAM, GROUP)["consumers"] == [{"name": b"busy-1", "pending": 10}]


def test_nogroup_makes_the_source_unready_until_reopened(redis_env: dict[str, str], redis_server: Proc) -> None:
    settings = Settings.from_env(redis_env)
    source = StreamSource(settings, redis_server.client(), Metrics())
    assert not source.ready
    source.reopen(new_master=False)
    assert source.ready and r_groups(redis_server) == [GROUP.encode()]
    assert not source.lost_state(ResponseError("BUSYKEY something else"))
    assert source.ready  # another refusal does not mean the group is gone
    redis_server.client().xgroup_destroy(STREAM, GROUP)
    assert source.lost_state(ResponseError("NOGROUP No such key or consumer group"))
    assert not source.ready  # /readyz must say so until the group is back
    source.reopen(new_master=False)
    assert source.ready and r_groups(redis_server) == [GROUP.encode()]


def r_groups(p: Proc) -> list[bytes]:
    return [g["name"] for g in p.client().xinfo_groups(STREAM)]


def test_a_read_of_new_entries_brings_one_batch_at_most(redis_env: dict[str, str], redis_server: Proc) -> None:
    """XREADGROUP asks for batch_size entries, never for all there are: one read is a bounded reply."""
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_BATCH_SIZE": "5", "TICKSTOCKPL_CLAIM_INTERVAL": "600"})
    r = redis_server.client()
    source = StreamSource(settings, r, Metrics())
    source.reopen(new_master=False)
    while source.draining:  # nothing pending yet: the drain ends at once
        source.fetch()
    for i in range(12):
        r.xadd(STREAM, {"data": good(i)})
    sizes = []
    while sum(sizes) < 12:
        fetched = source.fetch()
        assert fetched is not None
        sizes.append(len(fetched.items) + len(fetched.dead))
    assert sizes == [5, 5, 2]


def test_a_claim_of_idle_entries_brings_one_batch_at_most(redis_env: dict[str, str], redis_server: Proc) -> None:
    """XAUTOCLAIM asks for batch_size entries (Redis's own default is 100), from where the last claim ended."""
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_BATCH_SIZE": "5", "TICKSTOCKPL_PROCESS_TIMEOUT": "0.05",
                                  "TICKSTOCKPL_CLAIM_INTERVAL": "0.01"})
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for i in range(12):
        r.xadd(STREAM, {"data": good(i)})
    r.xreadgroup(GROUP, "gone", {STREAM: ">"}, count=12)  # a consumer that died holding them
    time.sleep(0.1)
    source = StreamSource(settings, r, Metrics())
    source.reopen(new_master=False)
    while source.draining:
        source.fetch()
    sizes = []
    while sum(sizes) < 12:
        time.sleep(0.02)
        fetched = source.fetch()
        assert fetched is not None
        sizes.append(len(fetched.items) + len(fetched.dead))
    assert sizes == [5, 5, 2]


def test_an_idle_read_blocks_for_block_ms(redis_env: dict[str, str], redis_server: Proc) -> None:
    """No new entry: the read waits TICKSTOCKPL_BLOCK_MS in Redis instead of spinning."""
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_BLOCK_MS": "300", "TICKSTOCKPL_CLAIM_INTERVAL": "600"})
    source = StreamSource(settings, redis_server.client(), Metrics())
    source.reopen(new_master=False)
    while source.draining:
        source.fetch()
    source.fetch()  # the first fetch also claims (nothing idle)
    t0 = time.monotonic()
    assert source.fetch() is None
    assert 0.25 <= time.monotonic() - t0 < 2.0
