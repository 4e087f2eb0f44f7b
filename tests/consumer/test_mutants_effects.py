"""Effects and the loop's metrics, as bench/mutation found them untested, on real redis-servers."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from servers import Proc, start_redis, wait_until
from tickstockpl.contract import CONTRACT
from tickstockpl.effects import GUARD_TTL_MS, Batch, Effects
from tickstockpl.metrics import Metrics
from tickstockpl.processor import Processor
from tickstockpl.settings import Settings
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good, pattern_listener


class NoAck:
    """A source with nothing to ack (as pub/sub)."""

    def ack_target(self) -> tuple[str, str] | None:
        return None


class Failing:
    name = "failing"

    def observe(self, tick: object) -> None:
        raise RuntimeError("x" * 5000)


def env_of(p: Proc, **extra: str) -> dict[str, str]:
    return {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(p.port), **extra}


def test_the_loop_counts_ticks_patterns_and_dead_letters_by_kind(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tickstockpl.worker")
    r = redis_server.client()
    now = time.time()
    for raw in (good(0, price=100.0, timestamp=now), good(1, price=110.0, timestamp=now),
                good(2, price=99.0, timestamp=now), b"{bad", good(3, ticker="aapl")):
        r.xadd(STREAM, {"data": raw})
    r.xadd(STREAM, {"other": b"no data"})
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_DETECTORS="price_movement")
    w.wait(lambda: w.consumer.processed == 3 and r.xpending(STREAM, GROUP)["pending"] == 0)
    w.stop()
    (started,) = [rec for rec in caplog.records if rec.getMessage() == "stream consumer starting"]
    assert started.ctx == {"consumer": "c1", "stream": STREAM, "group": GROUP}  # type: ignore[attr-defined]
    get = w.consumer.metrics.registry.get_sample_value
    assert get("tickstockpl_connected") == 1 and w.consumer.state.connected
    assert get("tickstockpl_ticks_processed_total") == 3
    assert get("tickstockpl_pattern_events_total", {"pattern_type": "price_movement"}) == 2  # up, then down
    assert get("tickstockpl_bad_ticks_total", {"reason": "invalid_json"}) == 1
    assert get("tickstockpl_bad_ticks_total", {"reason": "invalid_tick"}) == 1
    assert get("tickstockpl_bad_ticks_total", {"reason": "missing_data_field"}) == 1
    assert get("tickstockpl_end_to_end_seconds_count") == 3
    assert 0 <= (get("tickstockpl_end_to_end_seconds_sum") or -1) < 3 * 60
    batches = get("tickstockpl_batch_processing_seconds_count") or 0
    assert batches >= 1 and 0 < (get("tickstockpl_batch_processing_seconds_sum") or 0) < 60


def test_dead_letter_detail_and_payload_are_cut_to_their_bounds(
    redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    r = redis_server.client()
    r.flushall()
    settings = Settings.from_env(env_of(redis_server, TICKSTOCKPL_DEAD_LETTER_PAYLOAD_BYTES="100",
                                        TICKSTOCKPL_CONSUMER_ID="c9"))
    processor = Processor(settings)
    processor.detectors = [Failing()]  # type: ignore[list-item]
    long_tick = good(0, pad="p" * 1000)
    batch = processor.process([(b"5-0", long_tick), (b"5-1", b"{" + b"q" * 1000)])
    effects = Effects(r, settings, Metrics())
    assert effects.commit(batch, NoAck()) == []
    (_, failed), (_, bad_json) = r.xrange(DEAD_LETTER_STREAM)
    assert failed[b"reason"] == b"detector_error" and failed[b"entry_id"] == b"5-0"
    assert failed[b"detail"] == repr(RuntimeError("x" * 5000)).encode()[:500]  # the first 500 characters
    assert failed[b"payload"] == long_tick[:100] and bad_json[b"payload"] == b"{" + b"q" * 99
    assert failed[b"consumer"] == b"c9"
    # Its log line is cut shorter still: bad ticks can come by the million.
    lines = [rec.ctx for rec in caplog.records if rec.getMessage() == "bad tick dead-lettered"]  # type: ignore[attr-defined]
    assert lines[0] == {"reason": "detector_error", "entry_id": "5-0", "suppressed_before": 0,
                        "detail": repr(RuntimeError("x" * 5000))[:200]}
    assert lines[1]["reason"] == "invalid_json" and lines[1]["entry_id"] == "5-1" and len(lines[1]["detail"]) <= 200


def _two_ticks_batch(settings: Settings) -> object:
    return Processor(settings).process([(None, good(0, price=100.0)), (None, good(1, price=110.0))])


def test_claims_not_confirmed_by_a_replica_are_published_anyway_with_a_warning(
    redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    r = redis_server.client()
    r.flushall()
    settings = Settings.from_env(env_of(redis_server, TICKSTOCKPL_WAIT_REPLICAS="1",
                                        TICKSTOCKPL_WAIT_TIMEOUT_MS="50", TICKSTOCKPL_DETECTORS="price_movement"))
    events, done = pattern_listener(r)
    batch = _two_ticks_batch(settings)
    published = Effects(r, settings, Metrics()).commit(batch, NoAck())  # type: ignore[arg-type]
    wait_until(lambda: len(events) == 1, 5, "the event")
    done()
    assert [e.pattern_id for e in published] == [events[0]["pattern_id"]]
    assert r.exists(CONTRACT.pattern_prefix + events[0]["pattern_id"])
    warned = [rec for rec in caplog.records if rec.getMessage().startswith("pattern claims not confirmed")]
    assert len(warned) == 1 and warned[0].ctx == {"wanted": 1, "got": 0, "suppressed_before": 0}  # type: ignore[attr-defined]


def test_claims_confirmed_by_a_replica_need_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    master = start_redis(tmp_path, "master")
    replica = start_redis(tmp_path, "replica", "--replicaof", "127.0.0.1", str(master.port))
    try:
        wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", 15, "replica sync")
        settings = Settings.from_env(env_of(master, TICKSTOCKPL_WAIT_REPLICAS="1",
                                            TICKSTOCKPL_WAIT_TIMEOUT_MS="5000", TICKSTOCKPL_DETECTORS="price_movement"))
        caplog.set_level(logging.WARNING, logger="tickstockpl.effects")
        published = Effects(master.client(), settings, Metrics()).commit(
            _two_ticks_batch(settings), NoAck())  # type: ignore[arg-type]
        assert len(published) == 1
        assert replica.client().exists(CONTRACT.pattern_prefix + published[0].pattern_id)  # WAIT saw to it
        assert not [rec for rec in caplog.records if rec.getMessage().startswith("pattern claims not confirmed")]
        # The same batch again: the claim exists, nothing is published a second time.
        again = Effects(master.client(), settings, Metrics()).commit(_two_ticks_batch(settings), NoAck())  # type: ignore[arg-type]
        assert again == []
    finally:
        replica.kill()
        master.kill()


def test_published_event_is_the_pattern_as_json(redis_server: Proc) -> None:
    r = redis_server.client()
    r.flushall()
    settings = Settings.from_env(env_of(redis_server, TICKSTOCKPL_DETECTORS="price_movement"))
    events, done = pattern_listener(r)
    (event,) = Effects(r, settings, Metrics()).commit(_two_ticks_batch(settings), NoAck())  # type: ignore[arg-type]
    wait_until(lambda: len(events) == 1, 5, "the event")
    done()
    assert events[0] == json.loads(json.dumps({f: getattr(event, f) for f in event.__struct_fields__}))


def test_the_commit_guard_key_expires(redis_server: Proc) -> None:
    """One guard key per consumer id: ids change with every host and instance, so each must expire."""
    r = redis_server.client()
    r.flushall()
    effects = Effects(r, Settings.from_env(env_of(redis_server)), Metrics())
    effects.commit(Batch(), NoAck())  # type: ignore[arg-type]
    assert r.get(effects.guard) == b"-"  # spent by the second half
    assert 0 < r.pttl(effects.guard) <= GUARD_TTL_MS
