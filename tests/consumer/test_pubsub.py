"""Pub/sub mode against a real redis-server: channels, ticker filter, gaps."""

from __future__ import annotations

import json
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
