"""Pub/sub mode against a real redis-server: channels, ticker filter, gaps."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from servers import Proc, wait_until
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.pubsub import PubSubSource
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker

ALL_TICKS_CHANNEL = CONTRACT.channel_all_ticks


def tick(seq: int, ticker: str = "AAPL", publisher: str = "ps1") -> bytes:
    return json.dumps({
        "event_type": "tick_data", "ticker": ticker, "price": 10.0, "volume": 5,
        "timestamp": time.time(), "source": "tickstock_pl", "market_status": "PRE",
        "publisher": publisher, "seq": seq,
    }).encode()


def start(env: dict[str, str], **extra: str) -> tuple[Worker, Shutdown, threading.Thread]:
    shutdown = Shutdown()
    settings = Settings.from_env({"TICKSTOCKPL_BLOCK_MS": "100", **env, **extra})
    consumer = Worker(settings, Connector(settings), shutdown)
    t = threading.Thread(target=consumer.run, daemon=True)
    t.start()
    wait_until(lambda: consumer.state.group_ready, 5, "subscribed")
    time.sleep(0.2)
    return consumer, shutdown, t


def source(worker: Worker) -> PubSubSource:
    assert isinstance(worker.source, PubSubSource)
    return worker.source


def test_all_ticks_channel_counts_gaps_and_dead_letters(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    r = redis_server.client()
    consumer, shutdown, t = start(redis_env, TICKSTOCKPL_MODE="pubsub")
    # ps1: 2,3 and 6,7,8 never published: 5 missing; 1 and 9 come twice. ps2 starts at 7: nothing missing.
    for seq, publisher in ((0, "ps1"), (1, "ps1"), (7, "ps2"), (4, "ps1"), (1, "ps1"), (5, "ps1"), (8, "ps2"),
                           (9, "ps1"), (9, "ps1")):
        r.publish(ALL_TICKS_CHANNEL, tick(seq, publisher=publisher))
    r.publish(ALL_TICKS_CHANNEL, b'{"event_type": "tick_data"}')
    wait_until(lambda: consumer.processed == 9 and r.xlen(CONTRACT.dead_letter_stream) == 1, 5, "ticks")
    shutdown.request()
    t.join(5)
    assert not t.is_alive()
    gaps = source(consumer).gaps
    assert (gaps.missing, gaps.repeats, gaps.last) == (5, 2, {"ps1": 9, "ps2": 8})
    assert consumer.metrics.gaps._value.get() == 5
    get = consumer.metrics.registry.get_sample_value
    assert get("tickstockpl_pubsub_gaps_total", {"cause": "sequence"}) == 2
    warned = [rec.ctx for rec in caplog.records if rec.getMessage() == "gap in publisher sequence"]
    assert warned == [
        {"publisher": "ps1", "before_seq": 4, "missing": 2},
        {"publisher": "ps1", "before_seq": 9, "missing": 3},
    ]
    assert r.getbit(CONTRACT.pubsub_seen_prefix + "ps1:0", 9) == 1
    assert not r.keys(CONTRACT.seen_prefix + "ps1*"), "pub/sub must not vouch for stream delivery"


def test_ticker_channels_only(redis_env: dict[str, str], redis_server: Proc) -> None:
    r = redis_server.client()
    consumer, shutdown, t = start(redis_env, TICKSTOCKPL_MODE="pubsub", TICKSTOCKPL_TICKERS="MSFT")
    r.publish(CONTRACT.ticker_channel("AAPL"), tick(0, "AAPL"))
    r.publish(CONTRACT.ticker_channel("MSFT"), tick(1, "MSFT"))
    r.publish(ALL_TICKS_CHANNEL, tick(2, "MSFT"))
    r.publish(CONTRACT.ticker_channel("MSFT"), tick(3, "MSFT"))
    wait_until(lambda: consumer.processed == 2, 5, "MSFT ticks")
    time.sleep(0.2)
    shutdown.request()
    t.join(5)
    assert not t.is_alive()
    assert consumer.processed == 2 and source(consumer).gaps.missing == 0  # filtered: gaps not judged


def spec(price: float) -> bytes:
    """A tick without publisher/seq: its loss cannot show in a sequence."""
    return json.dumps({
        "event_type": "tick_data", "ticker": "AAPL", "price": price, "volume": 5, "timestamp": time.time(),
        "source": "massive", "market_status": "REGULAR",
    }).encode()


@pytest.mark.parametrize("tickers", ["", "AAPL"])
def test_lost_subscription_is_a_gap_counted_and_logged(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture, tickers: str
) -> None:
    caplog.set_level(logging.INFO, logger="tickstockpl")
    r = redis_server.client()
    channel = CONTRACT.ticker_channel("AAPL") if tickers else ALL_TICKS_CHANNEL
    consumer, shutdown, t = start(redis_env, TICKSTOCKPL_MODE="pubsub", TICKSTOCKPL_TICKERS=tickers)
    r.publish(channel, spec(1.0))
    wait_until(lambda: consumer.processed == 1, 5, "first tick")
    assert r.client_kill_filter(_type="pubsub") == 1  # what a failover or a slow-subscriber limit does
    get = consumer.metrics.registry.get_sample_value
    wait_until(lambda: get("tickstockpl_pubsub_gaps_total", {"cause": "reconnect"}) == 1, 5, "gap counted")
    wait_until(lambda: r.publish(channel, spec(2.0)) == 1, 5, "resubscribed")
    wait_until(lambda: consumer.processed == 2, 5, "tick after the gap")
    shutdown.request()
    t.join(5)
    assert source(consumer).lost_subscriptions == 1
    assert get("tickstockpl_pubsub_gaps_total", {"cause": "sequence"}) is None
    warned = [rec for rec in caplog.records if rec.getMessage().startswith("pub/sub connection lost")]
    assert len(warned) == 1
    assert warned[0].ctx == {"channels": [channel], "times": 1,  # type: ignore[attr-defined]
                             "counted": "no" if tickers else "with publisher/seq, by the next tick"}
    started = [rec for rec in caplog.records if rec.getMessage() == "pubsub consumer starting"]
    assert started[0].ctx["channels"] == [channel]  # type: ignore[attr-defined]


def test_each_message_is_processed_at_once_not_after_waiting_for_more(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """One tick at a time, with the default 1 s block: none may wait for a batch to fill."""
    r = redis_server.client()
    consumer, shutdown, t = start(redis_env, TICKSTOCKPL_MODE="pubsub", TICKSTOCKPL_BLOCK_MS="1000")
    latencies = []
    for i in range(5):
        done = consumer.processed
        sent = time.monotonic()
        r.publish(ALL_TICKS_CHANNEL, spec(10.0 + i))
        while consumer.processed == done and time.monotonic() - sent < 5:
            time.sleep(0.001)
        latencies.append(time.monotonic() - sent)
        time.sleep(0.3)  # alone: nothing else buffered behind it
    shutdown.request()
    t.join(5)
    print("per-message latency s", [round(x, 4) for x in latencies])
    assert max(latencies) < 0.2, latencies  # waiting for more would cost the block time, 1 s


def test_a_new_master_moves_the_subscription_at_once(redis_env: dict[str, str], redis_server: Proc) -> None:
    """When the connector names another master, the subscription is made again, not left on the old server."""
    r = redis_server.client()
    consumer, shutdown, t = start(redis_env, TICKSTOCKPL_MODE="pubsub")
    r.publish(ALL_TICKS_CHANNEL, tick(1))
    wait_until(lambda: consumer.processed == 1, 5, "first tick")
    before = {c["id"] for c in r.client_list(_type="pubsub")}
    consumer.conn.generation += 1  # what Connector.check_master does when Sentinel names another master
    wait_until(lambda: {c["id"] for c in r.client_list(_type="pubsub")} - before, 5, "a new subscription")
    assert not before & {c["id"] for c in r.client_list(_type="pubsub")}, "the old subscription is still open"
    wait_until(lambda: r.publish(ALL_TICKS_CHANNEL, tick(2)) == 1 and consumer.processed == 2, 5, "tick after")
    shutdown.request()
    t.join(5)
    assert source(consumer).lost_subscriptions == 1  # counted as a gap: ticks may have passed meanwhile
