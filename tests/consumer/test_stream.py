"""Stream mode against a real redis-server: flow, dead letters, claims, NOGROUP."""

from __future__ import annotations

import time

from servers import Proc, wait_until
from tickstockpl.audit import consumed_of
from tickstockpl.contract import CONTRACT
from workers import (
    DEAD_LETTER_STREAM,
    GROUP,
    STREAM,
    Running,
    duplicates_per_tick,
    good,
    pattern_listener,
    publish,
    spec_tick,
)


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
    get = c.consumer.metrics.registry.get_sample_value
    e2e_count, e2e_sum = get("tickstockpl_end_to_end_seconds_count"), get("tickstockpl_end_to_end_seconds_sum")
    assert e2e_count and 0 < e2e_sum / e2e_count < 60  # ticks stamped just now
    assert 0 < get("tickstockpl_batch_processing_seconds_sum") < 60

    # Redeliver everything: rewind the group and re-send every tick (new ids).
    ids = [e[0] for e in r.xrange(STREAM)]
    for entry_id in ids:
        r.xadd(STREAM, r.xrange(STREAM, entry_id, entry_id)[0][1])
    r.xgroup_setid(STREAM, GROUP, "0")
    c.wait(lambda: c.consumer.processed >= 3000 + 6000)
    c.stop()
    wait_until(lambda: r.xpending(STREAM, GROUP)["pending"] == 0, 5, "acks")
    done()
    pattern_ids = [e["pattern_id"] for e in events]
    assert len(pattern_ids) == len(set(pattern_ids)), "a pattern_id was published twice"
    # Re-sent copies have new entry ids: the identity must not come from them.
    assert duplicates_per_tick(events) == [], "a tick yielded the same pattern twice"
    assert all(e["tick_id"].startswith("pub1:") for e in events)
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
    assert b"no data field" in dead[3][b"payload"]  # the entry as it was, for whoever looks
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


def test_spec_format_tick_sent_twice_yields_one_pattern_event(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """A producer without publisher/seq re-sends a tick (new entry id, same content): one event."""
    r = redis_server.client()
    events, done = pattern_listener(r)
    a, b, c = spec_tick(100.0, 1.7e9), spec_tick(110.0, 1.7e9 + 1), spec_tick(100.0, 1.7e9 + 2)
    for raw in (a, b, c, b):  # b again, after c: judged against c's price, it fires again
        r.xadd(STREAM, {"data": raw})
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_DETECTORS="price_movement")
    w.wait(lambda: w.consumer.processed == 4)
    wait_until(lambda: len(events) >= 2, 5, "pattern events")
    w.stop()
    done()
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert sorted(e["tick_timestamp"] for e in events) == [1.7e9 + 1, 1.7e9 + 2]  # b once, c once
    assert duplicates_per_tick(events) == []
    assert w.consumer.metrics.pattern_repeats._value.get() == 1
    assert all(e["tick_id"].startswith("digest:") for e in events)


def test_max_deliveries_boundary(redis_env: dict[str, str], redis_server: Proc) -> None:
    """Delivered exactly TICKSTOCKPL_MAX_DELIVERIES times: processed; once more: dead letter."""
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    at_limit = r.xadd(STREAM, {"data": good(0)})
    over = r.xadd(STREAM, {"data": good(1)})
    r.xreadgroup(GROUP, "c1", {STREAM: ">"})  # delivery 1 of both
    r.xclaim(STREAM, GROUP, "c1", 0, [at_limit])  # 2
    r.xclaim(STREAM, GROUP, "c1", 0, [over])
    r.xclaim(STREAM, GROUP, "c1", 0, [over])  # 3
    # The consumer's own re-read of its pending entries is one more: 3 and 4.
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_MAX_DELIVERIES="3")
    w.wait(lambda: r.xpending(STREAM, GROUP)["pending"] == 0)
    w.stop()
    (_, dead), = r.xrange(DEAD_LETTER_STREAM)
    assert dead[b"reason"] == b"max_deliveries" and dead[b"entry_id"] == over
    assert w.consumer.processed == 1
    assert consumed_of(w.consumer.conn, "manual", [0, 1]) == {0}


def test_restart_drains_all_its_own_pending_entries_batch_by_batch(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """What this consumer was handed before it died comes back to it first, however many batches."""
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for i in range(25):
        r.xadd(STREAM, {"data": good(i)})
    r.xreadgroup(GROUP, "c1", {STREAM: ">"})
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_BATCH_SIZE="10",
                TICKSTOCKPL_PROCESS_TIMEOUT="600", TICKSTOCKPL_CLAIM_INTERVAL="600")
    w.wait(lambda: w.consumer.processed == 25 and not w.consumer.source.draining)
    w.wait(w.consumer.state.ready, what="ready with a group that already existed")
    w.stop()
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    assert w.consumer.metrics.claimed._value.get() == 0  # drained, not claimed
    batches = w.consumer.metrics.registry.get_sample_value("tickstockpl_batch_processing_seconds_count")
    assert batches == 3  # 10 + 10 + 5: a read never takes more than a batch


def test_entry_trimmed_while_pending_is_acked_and_the_rest_processed(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    ids = [r.xadd(STREAM, {"data": good(i)}) for i in range(3)]
    r.xreadgroup(GROUP, "c1", {STREAM: ">"})
    r.xdel(STREAM, ids[1])  # MAXLEN or an operator removed it while c1 held it
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1")
    w.wait(lambda: r.xpending(STREAM, GROUP)["pending"] == 0)
    w.stop()
    assert w.consumer.processed == 2
    assert consumed_of(w.consumer.conn, "manual", [0, 1, 2]) == {0, 2}
    assert r.xlen(DEAD_LETTER_STREAM) == 0  # gone is not bad: nothing to dead-letter


def test_stats_and_claims_leave_a_live_consumers_entries_alone(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """Pending and lag as gauges; entries idle less than the process timeout are not claimed."""
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for i in range(30):
        r.xadd(STREAM, {"data": good(i)})
    r.xreadgroup(GROUP, "busy-1", {STREAM: ">"}, count=10)  # alive, still working on 10
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_PROCESS_TIMEOUT="600",
                TICKSTOCKPL_CLAIM_INTERVAL="0.1")
    w.wait(lambda: w.consumer.processed == 20)
    time.sleep(0.5)  # several claim passes
    w.stop()
    m = w.consumer.metrics
    # The first snapshot, taken before c1's first read: 10 pending (busy-1's), 20 not delivered.
    assert (m.pending._value.get(), m.stream_lag._value.get()) == (10, 20)
    assert m.claimed._value.get() == 0
    assert r.xpending(STREAM, GROUP)["consumers"] == [{"name": b"busy-1", "pending": 10}]


def test_entry_claimed_from_a_dead_consumer_too_often_goes_to_dead_letter(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    poison = r.xadd(STREAM, {"data": good(0)})
    r.xreadgroup(GROUP, "dead-1", {STREAM: ">"})
    for _ in range(3):
        r.xclaim(STREAM, GROUP, "dead-1", 0, [poison])
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c2", TICKSTOCKPL_MAX_DELIVERIES="3",
                TICKSTOCKPL_PROCESS_TIMEOUT="0.001", TICKSTOCKPL_CLAIM_INTERVAL="0.1")
    w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 1)
    w.stop()
    (_, dead), = r.xrange(DEAD_LETTER_STREAM)
    assert dead[b"reason"] == b"max_deliveries" and w.consumer.processed == 0
