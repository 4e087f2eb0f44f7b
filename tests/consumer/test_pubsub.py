"""Pub/sub mode against a real redis-server: channels, ticker filter, gaps."""

from __future__ import annotations

import json
import threading
import time

from servers import Proc, wait_until
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.pubsub import PubSubSource
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker

ALL_TICKS_CHANNEL = CONTRACT.channel_all_ticks


def tick(seq: int, ticker: str = "AAPL") -> bytes:
    return json.dumps({
        "event_type": "tick_data", "ticker": ticker, "price": 10.0, "volume": 5,
        "timestamp": time.time(), "source": "tickstock_pl", "market_status": "PRE",
        "publisher": "ps1", "seq": seq,
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


def test_all_ticks_channel_counts_gaps_and_dead_letters(redis_env: dict[str, str], redis_server: Proc) -> None:
    r = redis_server.client()
    consumer, shutdown, t = start(redis_env, TICKSTOCKPL_MODE="pubsub")
    for seq in (0, 1, 4, 5, 9):  # 2,3 and 6,7,8 never published: 5 missing
        r.publish(ALL_TICKS_CHANNEL, tick(seq))
    r.publish(ALL_TICKS_CHANNEL, b'{"event_type": "tick_data"}')
    wait_until(lambda: consumer.processed == 5 and r.xlen(CONTRACT.dead_letter_stream) == 1, 5, "ticks")
    shutdown.request()
    t.join(5)
    gaps = source(consumer).gaps
    assert gaps.missing == 5
    assert consumer.metrics.gaps._value.get() == 5
    assert r.getbit(CONTRACT.pubsub_seen_prefix + "ps1", 9) == 1
    assert not r.exists(CONTRACT.seen_prefix + "ps1"), "pub/sub must not vouch for stream delivery"


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
    assert consumer.processed == 2 and source(consumer).gaps.missing == 0  # filtered: gaps not judged
