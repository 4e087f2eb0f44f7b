"""Stream mode against a real redis-server: flow, dead letters, claims, NOGROUP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import redis
from servers import Proc, wait_until
from tickstockpl.audit import consumed_of
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.publisher import Publisher
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker

STREAM, GROUP, DEAD_LETTER_STREAM = CONTRACT.stream, CONTRACT.group, CONTRACT.dead_letter_stream


class Running:
    """A Worker in a thread of this process, against real Redis (stream mode unless env says)."""

    def __init__(self, env: dict[str, str], **extra: str) -> None:
        self.settings = Settings.from_env({**env, **extra})
        self.shutdown = Shutdown()
        self.consumer = Worker(self.settings, Connector(self.settings), self.shutdown)
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)
        self.thread.start()

    def wait(self, pred: Callable[[], bool], timeout: float = 15, what: str = "consumer") -> None:
        wait_until(pred, timeout, what)

    def stop(self) -> None:
        self.shutdown.request()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.consumer.conn.close()


def publish(env: dict[str, str], count: int, publisher: str = "pub1") -> None:
    settings = Settings.from_env(env)
    conn = Connector(settings, retry_budget=0)
    summary = Publisher(conn, settings, Shutdown(), publisher, ["AAPL", "MSFT"], 1e6, seed=1).run(count=count)
    assert summary.confirmed == count
    conn.close()


def good(seq: int, **changes: Any) -> bytes:
    tick = {
        "event_type": "tick_data", "ticker": "AAPL", "price": 100.0 + seq, "volume": 100,
        "timestamp": 1.7e9, "source": "synthetic", "market_status": "REGULAR",
        "publisher": "manual", "seq": seq,
    }
    tick.update(changes)
    return json.dumps(tick).encode()


def pattern_listener(r: redis.Redis) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """Collect every pattern event on the channel, from a real subscriber."""
    events: list[dict[str, Any]] = []
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(CONTRACT.channel_patterns)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            msg = ps.get_message(timeout=0.1)
            if msg:
                events.append(json.loads(msg["data"]))

    t = threading.Thread(target=loop, daemon=True)
    t.start()

    def done() -> None:
        stop.set()
        t.join(5)
        ps.close()

    return events, done


def test_stream_flow_acks_records_and_publishes_once(redis_env: dict[str, str], redis_server: Proc) -> None:
    r = redis_server.client()
    events, done = pattern_listener(r)
    publish(redis_env, 3000)
    c = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_PRICE_MOVE_PCT="0.5")
    c.wait(lambda: c.consumer.processed >= 3000)
    wait_until(lambda: r.xpending(STREAM, GROUP)["pending"] == 0, 5, "acks")
    assert len(consumed_of(c.consumer.conn, "pub1", list(range(3000)))) == 3000
    first_pass = len(events)
    assert first_pass > 0, "synthetic random walk should trigger the price detector"

    # Redeliver everything: rewind the group and re-send every tick (new ids).
    ids = [e[0] for e in r.xrange(STREAM)]
    for entry_id in ids:
        r.xadd(STREAM, {"data": r.xrange(STREAM, entry_id, entry_id)[0][1][b"data"]})
    r.xgroup_setid(STREAM, GROUP, "0")
    c.wait(lambda: c.consumer.processed >= 3000 + 6000)
    c.stop()
    wait_until(lambda: r.xpending(STREAM, GROUP)["pending"] == 0, 5, "acks")
    done()
    pattern_ids = [e["pattern_id"] for e in events]
    assert len(pattern_ids) == len(set(pattern_ids)), "a pattern_id was published twice"
    assert r.exists(CONTRACT.pattern_prefix + pattern_ids[0])
    assert c.consumer.metrics.pattern_repeats._value.get() >= first_pass
    for e in events[:5]:
        assert e["event_type"] == "pattern_detected" and e["source"] == "tickstock_pl"
        assert {"ticker", "pattern_type", "confidence", "timestamp"} <= set(e)


def test_bad_ticks_go_to_dead_letter_and_flow_continues(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    payloads = [good(0), b"{not json", good(1, ticker="aapl"), good(2, price=-1), good(3)]
    for p in payloads:
        r.xadd(STREAM, {"data": p})
    r.xadd(STREAM, {"other": b"no data field"})
    c = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1")
    c.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 4 and c.consumer.processed == 2)
    c.stop()
    dead = [f for _id, f in r.xrange(DEAD_LETTER_STREAM)]
    assert [d[b"reason"] for d in dead] == [
        b"invalid_json", b"invalid_tick", b"invalid_tick", b"missing_data_field",
    ]
    assert dead[0][b"payload"] == b"{not json" and dead[1][b"payload"] == payloads[2]
    assert b"ticker" in dead[1][b"detail"] and dead[0][b"consumer"] == b"c1"
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert consumed_of(c.consumer.conn, "manual", [0, 1, 2, 3]) == {0, 3}


def test_entry_delivered_too_often_goes_to_dead_letter(redis_env: dict[str, str], redis_server: Proc) -> None:
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    poison = r.xadd(STREAM, {"data": good(0)})
    r.xreadgroup(GROUP, "c1", {STREAM: ">"})
    for _ in range(3):  # each claim is a delivery, as if c1 crashed on it each time
        r.xclaim(STREAM, GROUP, "c1", 0, [poison])
    c = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_MAX_DELIVERIES="3")
    c.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 1)
    c.stop()
    (_, dead), = r.xrange(DEAD_LETTER_STREAM)
    assert dead[b"reason"] == b"max_deliveries" and dead[b"entry_id"] == poison
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert c.consumer.processed == 0


def test_xautoclaim_takes_over_a_dead_consumers_entries(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for i in range(50):
        r.xadd(STREAM, {"data": good(i)})
    # A consumer that read its share and died before acking.
    r.xreadgroup(GROUP, "dead-1", {STREAM: ">"}, count=50)
    assert r.xpending(STREAM, GROUP)["consumers"] == [{"name": b"dead-1", "pending": 50}]
    c = Running(
        redis_env, TICKSTOCKPL_CONSUMER_ID="live-1",
        TICKSTOCKPL_PROCESS_TIMEOUT="1", TICKSTOCKPL_CLAIM_INTERVAL="0.3",
    )
    c.wait(lambda: c.consumer.processed == 50, what="claimed entries processed")
    c.stop()
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert len(consumed_of(c.consumer.conn, "manual", list(range(50)))) == 50
    assert c.consumer.metrics.claimed._value.get() == 50


def test_group_deleted_under_a_running_consumer_is_recreated(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    c = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1")
    c.wait(lambda: c.consumer.state.group_ready)
    publish(redis_env, 100)
    c.wait(lambda: c.consumer.processed == 100)
    r.xgroup_destroy(STREAM, GROUP)  # what a failover to a lagging replica can look like
    publish(redis_env, 100, publisher="pub2")
    # Recreated at id 0: the first 100 come again (harmless), the new 100 arrive.
    c.wait(lambda: len(consumed_of(c.consumer.conn, "pub2", list(range(100)))) == 100)
    c.stop()
    assert r.xinfo_groups(STREAM)[0]["name"] == GROUP.encode()
    assert r.xpending(STREAM, GROUP)["pending"] == 0
