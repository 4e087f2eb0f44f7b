"""Pub/sub source behaviours that bench/mutation found untested, on a real redis-server."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
import redis
from servers import Proc, wait_until
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.metrics import Metrics
from tickstockpl.pubsub import PubSubSource
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker

CHANNEL = CONTRACT.channel_all_ticks


def tick(seq: int) -> bytes:
    return json.dumps({
        "event_type": "tick_data", "ticker": "AAPL", "price": 10.0, "volume": 5, "timestamp": time.time(),
        "source": "tickstock_pl", "market_status": "PRE", "publisher": "ps1", "seq": seq,
    }).encode()


def start(env: dict[str, str]) -> tuple[Worker, Shutdown, threading.Thread]:
    shutdown = Shutdown()
    settings = Settings.from_env({"TICKSTOCKPL_BLOCK_MS": "100", "TICKSTOCKPL_MODE": "pubsub", **env})
    worker = Worker(settings, Connector(settings), shutdown)
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    wait_until(lambda: worker.state.group_ready, 5, "subscribed")
    return worker, shutdown, t


def stop(worker: Worker, shutdown: Shutdown, t: threading.Thread) -> None:
    shutdown.request()
    t.join(5)
    assert not t.is_alive()
    worker.conn.close()


def test_every_lost_subscription_is_counted_in_the_stop_summary(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tickstockpl.worker")
    r = redis_server.client()
    worker, shutdown, t = start(redis_env)
    get = worker.metrics.registry.get_sample_value
    for lost in (1, 2, 3):
        assert r.client_kill_filter(_type="pubsub") == 1
        wait_until(lambda n=lost: get("tickstockpl_pubsub_gaps_total", {"cause": "reconnect"}) == n,
                   5, f"loss {lost} counted")
        # seq 2, 4, 6: one tick missed before 4 and one before 6, as seen in the sequence
        wait_until(lambda n=lost: r.publish(CHANNEL, tick(2 * n)) == 1, 5, "resubscribed")
    wait_until(lambda: worker.processed >= 3, 5, "ticks after each loss")
    stop(worker, shutdown, t)
    stopped = [rec for rec in caplog.records if rec.getMessage() == "pubsub consumer stopped"]
    assert len(stopped) == 1
    summary = stopped[0].ctx  # type: ignore[attr-defined]
    assert summary["lost_subscriptions"] == 3 and summary["missing"] == 2 and summary["processed"] == worker.processed


def test_a_refused_commit_in_pubsub_mode_is_a_refusal_not_a_lost_group(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    """Pub/sub has no group to lose: WRONGTYPE on its seen-bitmap is logged as a refused command."""
    r = redis_server.client()
    r.lpush(CONTRACT.pubsub_seen_prefix + "ps1:0", "not a bitmap")
    worker, shutdown, t = start(redis_env)
    wait_until(lambda: r.publish(CHANNEL, tick(0)) == 1, 5, "subscribed")
    wait_until(lambda: any(rec.getMessage() == "redis refused a command" for rec in caplog.records), 5, "refusal")
    stop(worker, shutdown, t)
    assert worker.processed == 0
    refused = [rec for rec in caplog.records if rec.getMessage() == "redis refused a command"]
    assert refused[0].exc_info is not None and "WRONGTYPE" in str(refused[0].exc_info[1])
    assert not [rec for rec in caplog.records if "consumer group" in rec.getMessage()]


def test_a_message_over_the_read_budget_is_a_dead_letter_without_payload(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """Dropped unread: the dead letter names the cause, and carries no payload and no entry id (none exist)."""
    r = redis_server.client()
    worker, shutdown, t = start({**redis_env, "TICKSTOCKPL_READ_BUDGET_BYTES": str(1 << 20)})
    wait_until(lambda: r.publish(CHANNEL, b"x" * 3_000_000) == 1, 5, "subscribed")
    wait_until(lambda: r.xlen(CONTRACT.dead_letter_stream) == 1, 5, "the dead letter")
    stop(worker, shutdown, t)
    ((_, dead),) = r.xrange(CONTRACT.dead_letter_stream)
    assert dead[b"reason"] == b"too_large" and dead[b"detail"].startswith(b"message ")
    assert dead[b"payload"] == b"" and dead[b"entry_id"] == b""


def publish_at_once(r: redis.Redis, messages: list[bytes]) -> None:
    """One MULTI/EXEC: the server sends them to the subscriber back to back."""
    pipe = r.pipeline(transaction=True)
    for m in messages:
        pipe.publish(CHANNEL, m)
    assert sum(pipe.execute()) == len(messages)


@pytest.mark.parametrize(("batch_size", "bound"), [(1, "exact"), (500, "few")])
def test_buffered_messages_are_taken_together_up_to_a_batch(
    redis_env: dict[str, str], redis_server: Proc, batch_size: int, bound: str
) -> None:
    r = redis_server.client()
    worker, shutdown, t = start({**redis_env, "TICKSTOCKPL_BATCH_SIZE": str(batch_size)})
    publish_at_once(r, [tick(i) for i in range(20)])
    wait_until(lambda: worker.processed == 20, 5, "20 ticks")
    stop(worker, shutdown, t)
    batches = worker.metrics.registry.get_sample_value("tickstockpl_batch_processing_seconds_count")
    if bound == "exact":
        assert batches == 20  # never more than TICKSTOCKPL_BATCH_SIZE in a batch
    else:
        assert batches is not None and batches <= 5, batches  # what is buffered is not taken one at a time


def padded(raw: bytes, size: int) -> bytes:
    """A tick with an unknown field that makes it exactly size bytes."""
    head = raw[:-1] + b', "pad": "'
    out = head + b"p" * (size - len(head) - 2) + b'"}'
    assert len(out) == size
    return out


def test_a_message_of_exactly_the_max_size_is_processed_one_byte_more_is_not(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    limit = Settings.from_env(redis_env).max_entry_bytes
    exact, over = padded(tick(1), limit), padded(tick(2), limit + 1)
    r = redis_server.client()
    worker, shutdown, t = start(redis_env)
    for m in (exact, over):
        wait_until(lambda m=m: r.publish(CHANNEL, m) == 1, 5, "subscribed")
    wait_until(lambda: worker.processed == 1 and r.xlen(CONTRACT.dead_letter_stream) == 1, 5, "both handled")
    stop(worker, shutdown, t)
    ((_, dead),) = r.xrange(CONTRACT.dead_letter_stream)
    assert dead[b"reason"] == b"too_large" and dead[b"entry_id"] == b""
    assert dead[b"detail"] == f"message of {limit + 1} bytes, over {limit}".encode()


def test_a_pubsub_batch_counts_the_messages_it_refuses_too(redis_env: dict[str, str], redis_server: Proc) -> None:
    """A flood of oversize messages still comes batch_size at a time: one batch stays bounded."""
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_MODE": "pubsub", "TICKSTOCKPL_BATCH_SIZE": "5",
                                  "TICKSTOCKPL_MAX_ENTRY_BYTES": "1024", "TICKSTOCKPL_BLOCK_MS": "100"})
    r = redis_server.client()
    source = PubSubSource(settings, redis_server.client(), Metrics())
    source.reopen(new_master=False)
    wait_until(lambda: r.client_list(_type="pubsub") != [], 5, "subscribed")
    for _ in range(12):
        assert r.publish(CHANNEL, b"x" * 2048) == 1
    sizes = []
    deadline = time.monotonic() + 5
    while sum(sizes) < 12 and time.monotonic() < deadline:
        fetched = source.fetch()  # None for the subscription's own confirmation
        if fetched is not None:
            assert not fetched.items
            sizes.append(len(fetched.dead))
    assert sizes == [5, 5, 2]
    source.close()


def test_an_idle_fetch_waits_for_messages_as_long_as_a_stream_read_blocks(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_MODE": "pubsub", "TICKSTOCKPL_BLOCK_MS": "300"})
    source = PubSubSource(settings, redis_server.client(), Metrics())
    source.reopen(new_master=False)
    source.fetch()  # the subscription's own confirmation may end the first wait
    t0 = time.monotonic()
    assert source.fetch() is None
    assert 0.25 <= time.monotonic() - t0 < 2.0
    source.close()
