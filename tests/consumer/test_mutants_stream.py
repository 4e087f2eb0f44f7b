"""Stream source behaviours that bench/mutation found untested, on a real redis-server."""

from __future__ import annotations

import logging
import math
import time

import pytest
from redis.exceptions import ResponseError
from servers import Proc
from tickstockpl import stream
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


def test_periodic_stats_read_zero_pending_and_nan_depth_when_redis_cannot_count(
    redis_env: dict[str, str], redis_server: Proc, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stats run on every fetch once due, again and again; an empty backlog reads 0, not 1;
    an XDEL gap ahead of the group (Redis gives no lag then) reads NaN, not a guess."""
    monkeypatch.setattr(stream, "STATS_INTERVAL_S", 0.0)
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_CLAIM_INTERVAL": "600"})
    r = redis_server.client()
    metrics = Metrics()
    source = StreamSource(settings, r, metrics)
    source.reopen(new_master=False)
    while source.draining:
        source.fetch()
    ids = [r.xadd(STREAM, {"data": good(i)}) for i in range(3)]
    fetched = source.fetch()
    assert fetched is not None and len(fetched.items) == 3
    get = metrics.registry.get_sample_value
    assert source.fetch() is None and get("tickstockpl_pending") == 3
    r.xack(STREAM, GROUP, *ids)
    for _ in range(3):  # each fetch past the interval runs the stats again
        assert source.fetch() is None
        assert get("tickstockpl_pending") == 0 and get("tickstockpl_queue_depth") == 0
    more = [r.xadd(STREAM, {"data": good(10 + i)}) for i in range(3)]
    r.xdel(STREAM, more[1])  # undelivered, with a hole: Redis's lag is unknown
    source._stats()  # what the next due fetch runs first, before it reads these
    assert math.isnan(get("tickstockpl_queue_depth") or 0.0)


def test_the_log_names_what_the_stream_source_did(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    """Ops read these lines: the group created (once), idle entries claimed, entries trimmed while pending."""
    caplog.set_level(logging.INFO, logger="tickstockpl.stream")
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_PROCESS_TIMEOUT": "0.05",
                                  "TICKSTOCKPL_CLAIM_INTERVAL": "0.01"})
    r = redis_server.client()
    metrics = Metrics()
    source = StreamSource(settings, r, metrics)
    source.reopen(new_master=False)
    source.reopen(new_master=False)  # BUSYGROUP: nothing created, nothing said
    ids = [r.xadd(STREAM, {"data": good(i)}) for i in range(3)]
    r.xreadgroup(GROUP, settings.consumer_id, {STREAM: ">"}, count=3)  # ours, from before a restart
    r.xdel(STREAM, ids[0], ids[1])
    fetched = source.fetch()  # the drain
    assert fetched is not None and fetched.ack_ids == ids and [i for i, _ in fetched.items] == [ids[2]]
    r.xack(STREAM, GROUP, *ids)
    while source.draining:
        source.fetch()
    for i in range(4):
        r.xadd(STREAM, {"data": good(20 + i)})
    r.xreadgroup(GROUP, "gone", {STREAM: ">"}, count=4)  # a consumer that died holding them
    time.sleep(0.1)
    fetched = source.fetch()
    assert fetched is not None and len(fetched.items) == 4
    assert metrics.registry.get_sample_value("tickstockpl_claimed_total") == 4
    said = [(rec.getMessage(), getattr(rec, "ctx", None)) for rec in caplog.records]
    assert said == [
        ("created consumer group", {"group": GROUP}),
        ("acked entries trimmed while pending", {"count": 2}),
        ("claimed idle entries", {"count": 4}),
    ]


def test_after_a_too_large_entry_reads_start_again_at_one_and_double(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """An oversize entry makes the next reads small (1, 2, 4, ... up to batch_size): the next may be big too."""
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_BATCH_SIZE": "8", "TICKSTOCKPL_CLAIM_INTERVAL": "600",
                                  "TICKSTOCKPL_MAX_ENTRY_BYTES": "4096"})
    r = redis_server.client()
    source = StreamSource(settings, r, Metrics())
    source.reopen(new_master=False)
    while source.draining:
        source.fetch()
    r.xadd(STREAM, {"data": good(0, pad="x" * 6000)})
    for i in range(20):
        r.xadd(STREAM, {"data": good(1 + i)})
    sizes, reasons = [], []
    while sum(sizes) < 21:
        fetched = source.fetch()
        assert fetched is not None
        sizes.append(len(fetched.items) + len(fetched.dead))
        reasons += [reason for reason, *_ in fetched.dead]
    assert reasons == ["too_large"] and sizes == [8, 1, 2, 4, 6]
