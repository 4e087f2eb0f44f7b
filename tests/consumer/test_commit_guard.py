"""effects.py's guard: the second half of a commit (publish, ack) runs only on a server that has the first
(claims, seen marks, dead letters). A failover between the halves sends the client's next call to the new
master; here two real servers stand for the old and the new one, and the client is pointed from one to the
other between the halves, as the retry after a failover does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from servers import Proc, start_redis, wait_until
from test_mutants_effects import _two_ticks_batch, env_of
from tickstockpl.connection import BudgetRetry
from tickstockpl.contract import CONTRACT
from tickstockpl.effects import COMMIT, CommitMoved, Effects
from tickstockpl.metrics import Metrics
from tickstockpl.replicas import WaitTarget
from tickstockpl.seen import marked
from tickstockpl.settings import Settings
from workers import GROUP, STREAM, Running, good, pattern_listener


class StreamAck:
    def ack_target(self) -> tuple[str, str] | None:
        return STREAM, GROUP


class MovesBeforeWait(WaitTarget):
    """Points the client at the other server right after the first half, as a failover would."""

    def __init__(self, client: redis.Redis, to: redis.Redis) -> None:
        super().__init__(client)
        self.to = to

    def wanted(self, floor: int) -> int:
        self.client.connection_pool = self.to.connection_pool
        return 0


@pytest.fixture
def old_and_new(tmp_path: Path) -> Iterator[tuple[Proc, Proc]]:
    old, new = start_redis(tmp_path, "old"), start_redis(tmp_path, "new")
    try:
        for p in (old, new):  # the same entry, delivered and pending on both (as replicated)
            r = p.client()
            r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
            r.xadd(STREAM, {"data": good(0)}, id="1-0")
            r.xreadgroup(GROUP, "c1", {STREAM: ">"})
        yield old, new
    finally:
        old.kill()
        new.kill()


def _effects(old: Proc, new: Proc) -> tuple[Effects, Settings]:
    settings = Settings.from_env(env_of(old, TICKSTOCKPL_WAIT_REPLICAS="1", TICKSTOCKPL_CONSUMER_ID="c1",
                                        TICKSTOCKPL_DETECTORS="price_movement"))
    client = old.client()
    effects = Effects(client, settings, Metrics())
    effects.wait_target = MovesBeforeWait(client, new.client())
    return effects, settings


def test_second_half_on_a_server_without_the_first_is_refused_and_nothing_acked(
    old_and_new: tuple[Proc, Proc]
) -> None:
    old, new = old_and_new
    effects, settings = _effects(old, new)
    batch = _two_ticks_batch(settings)
    batch.ack_ids = [b"1-0"]  # type: ignore[attr-defined]
    n = new.client()  # kept: the listener's connection lives in its pool
    events, done = pattern_listener(n)
    with pytest.raises(CommitMoved, match="TSMOVED"):
        effects.commit(batch, StreamAck())  # type: ignore[arg-type]
    assert n.pubsub_numsub(CONTRACT.channel_patterns) == [(CONTRACT.channel_patterns.encode(), 1)]
    assert n.xpending(STREAM, GROUP)["pending"] == 1, "still pending on the new master: read again, not lost"
    assert not n.keys(CONTRACT.key_prefix + "*"), "the first half never reached it"
    assert old.client().exists(CONTRACT.commit_guard_prefix + "c1")
    done()
    assert events == [], "nothing published without the claim"


def test_second_half_runs_where_the_first_half_arrived_and_only_once(old_and_new: tuple[Proc, Proc]) -> None:
    """The new master has the first half (it was replicated): the commit goes on there, and the same
    second half sent again (a retry after a lost reply) is refused, so nothing is published twice."""
    old, new = old_and_new
    new.client().replicaof("127.0.0.1", old.port)
    wait_until(lambda: new.client().info("replication")["master_link_status"] == "up", 15, "replica sync")
    effects, settings = _effects(old, new)
    heard: list[tuple[list[dict[str, Any]], Callable[[], None]]] = []
    n = new.client()  # kept: the listener's connection lives in its pool

    def promote_when_synced(floor: int) -> int:
        guard = CONTRACT.commit_guard_prefix + "c1"
        wait_until(lambda: n.get(guard) == old.client().get(guard), 10, "the first half on the replica")
        n.replicaof("no", "one")
        heard.append(pattern_listener(n))  # subscribed on the new master
        effects.client.connection_pool = new.client().connection_pool
        return 0

    effects.wait_target.wanted = promote_when_synced  # type: ignore[method-assign]
    batch = _two_ticks_batch(settings)
    batch.ack_ids = [b"1-0"]  # type: ignore[attr-defined]
    published = effects.commit(batch, StreamAck())  # type: ignore[arg-type]
    assert len(published) == 1
    ((events, done),) = heard
    wait_until(lambda: len(events) == 1, 5, "the event on the new master")
    assert n.xpending(STREAM, GROUP)["pending"] == 0
    assert n.get(CONTRACT.commit_guard_prefix + "c1") == b"-", "the guard is spent"
    with pytest.raises(redis.ResponseError, match="TSMOVED"):  # a second half again, whatever its token
        n.eval(COMMIT, 2, CONTRACT.commit_guard_prefix + "c1", STREAM, "0123456789abcdef",
               CONTRACT.channel_patterns, GROUP, "1-0", "{}")
    done()


def test_budget_retry_once_sends_a_failed_call_a_single_time() -> None:
    calls: list[int] = []

    def fail() -> None:
        calls.append(1)
        raise redis.ConnectionError("gone")

    retry = BudgetRetry(5.0)
    with retry.once(), pytest.raises(redis.ConnectionError):
        retry.call_with_retry(fail, lambda _e: None)
    assert len(calls) == 1
    retry.budget_s = 0.3
    with pytest.raises(redis.ConnectionError):
        retry.call_with_retry(fail, lambda _e: None)
    assert len(calls) > 2, "outside once(): retried within the budget"


class LosesTheGuardOnce(WaitTarget):
    """As a failover whose new master lacks the first half: the guard is gone when the second half runs."""

    def __init__(self, client: redis.Redis, guard: str) -> None:
        super().__init__(client)
        self.guard = guard
        self.fired = False

    def wanted(self, floor: int) -> int:
        if not self.fired:
            self.fired = True
            self.client.delete(self.guard)
        return 0


def test_the_loop_reads_a_moved_batch_again_and_acks_it(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    r = redis_server.client()
    r.xadd(STREAM, {"data": good(0, price=100.0)})
    r.xadd(STREAM, {"data": good(1, price=110.0)})
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_DETECTORS="price_movement")
    target = LosesTheGuardOnce(w.consumer.effects.client, w.consumer.effects.guard)
    w.consumer.effects.wait_target = target
    try:
        w.wait(lambda: target.fired and r.xpending(STREAM, GROUP)["pending"] == 0
               and w.consumer.processed >= 2)
        assert w.thread.is_alive()
    finally:
        w.stop()
    moved = [rec for rec in caplog.records
             if rec.getMessage() == "the master changed during a commit; reading the batch again"]
    assert len(moved) == 1 and moved[0].ctx["error"].startswith("TSMOVED")  # type: ignore[attr-defined]
    assert w.consumer.effects.once == w.consumer.conn.retry.once  # the second half is never sent twice
    assert marked(r, CONTRACT.seen_prefix, "manual", [0, 1]) == {0, 1}
