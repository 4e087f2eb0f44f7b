"""tickstockpl_queue_depth: undelivered + pending, from the master in use, true after a failover."""

from __future__ import annotations

import pytest
from conftest import Cluster
from servers import Proc, wait_until
from tickstockpl import stream as stream_module
from tickstockpl.depth import QueueDepth
from workers import GROUP, STREAM, Running, good


def group(last: str, lag: int | None, pending: int = 0) -> dict[str, object]:
    return {"name": GROUP.encode(), "pending": pending, "last-delivered-id": last.encode(), "lag": lag}


def info(last: str, length: int) -> dict[str, object]:
    return {"last-generated-id": last.encode(), "length": length}


def test_depth_takes_redis_lag_error_off_once_caught_up() -> None:
    d = QueueDepth()
    assert d.update(group("5-0", 7, pending=2), info("9-0", 100)) == 9  # not caught up yet: Redis's lag
    assert d.update(group("9-0", 40, pending=3), info("9-0", 100)) == 3  # caught up: lag 40 is all error
    assert d.update(group("9-0", 45, pending=1), info("12-1", 100)) == 6  # 5 new entries
    assert d.update(group("12-0", 41), info("12-1", 100)) == 1
    assert d.update(group("12-0", 500), info("12-1", 30)) == 30  # never more than the stream holds
    d.reset()  # another master: the error seen here says nothing there
    assert d.update(group("12-0", 45), info("12-1", 100)) == 45
    assert d.update(group("12-0", None), info("12-1", 100)) is None
    assert d.update(group("0-0", None, pending=4), info("0-0", 0)) == 4  # empty stream: ids decide


def test_queue_depth_follows_the_master_in_use_through_a_failover(
    small_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    master, (replica,) = small_cluster.master, small_cluster.replicas
    m, r = master.client(), replica.client()
    m.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    ids = [m.xadd(STREAM, {"data": good(i)}) for i in range(20)]
    m.xreadgroup(GROUP, "early-1", {STREAM: ">"}, count=10)
    m.xack(STREAM, GROUP, *ids[:10])
    # A full resync, as after a replica restart: the replica starts from the master's read counter...
    r.replicaof("no", "one")
    r.replicaof("127.0.0.1", master.port)
    wait_until(lambda: r.info("replication")["master_link_status"] == "up", 15, "replica resynced")
    # ...and Redis 7.0 does not advance it when it replays the master's group reads.
    m.xreadgroup(GROUP, "stuck-1", {STREAM: ">"})  # the other 10: pending, held by a live consumer
    wait_until(lambda: r.xpending(STREAM, GROUP)["pending"] == 10, 10, "replica has the reads")
    # Make the masters disagree: the replica alone forgets the 10 (a write on a writable replica stays local).
    r.config_set("replica-read-only", "no")
    r.xack(STREAM, GROUP, *ids[10:])
    monkeypatch.setattr(stream_module, "STATS_INTERVAL_S", 3600.0)  # only a reopen may refresh
    w = Running(small_cluster.env(), TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_PROCESS_TIMEOUT="600",
                TICKSTOCKPL_CLAIM_INTERVAL="600")
    depth = w.consumer.metrics.queue_depth._value.get
    try:
        w.wait(lambda: depth() == 10, what="depth on the first master")
        small_cluster.failover()
        w.wait(lambda: w.consumer.conn.failovers >= 1, 20, "consumer sees the failover")
        w.wait(lambda: depth() == 0, 10, "depth read from the new master")
    finally:
        w.stop()
    assert w.consumer.processed == 0

    # On the new master, with nothing undelivered, Redis's lag is its error alone (10 on 7.0).
    d = QueueDepth()
    assert d.update(r.xinfo_groups(STREAM)[0], r.xinfo_stream(STREAM)) == 0
    for i in range(7):
        r.xadd(STREAM, {"data": good(100 + i)})
    g = r.xinfo_groups(STREAM)[0]
    print("after 7 new entries: redis lag", g["lag"], "error taken off", d.lag_error)
    assert d.update(g, r.xinfo_stream(STREAM)) == 7


def test_depth_counts_undelivered_and_pending(redis_env: dict[str, str], redis_server: Proc) -> None:
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for i in range(30):
        r.xadd(STREAM, {"data": good(i)})
    r.xreadgroup(GROUP, "busy-1", {STREAM: ">"}, count=10)
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_PROCESS_TIMEOUT="600")
    w.wait(lambda: w.consumer.processed == 20)
    w.stop()
    # The snapshot taken when the source opened, before c1 read: 20 undelivered + 10 pending.
    assert w.consumer.metrics.queue_depth._value.get() == 30
