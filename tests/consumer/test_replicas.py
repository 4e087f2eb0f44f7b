"""replicas.py: a WAIT asks every replica in sync, so a double fault (the confirming replica lost, the other
promoted) cannot lose a confirmed tick or a pattern claim. On a real master with two replicas, one stopped."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from servers import Proc, start_redis, wait_until
from test_mutants_effects import NoAck, _two_ticks_batch, env_of
from tickstockpl.contract import CONTRACT
from tickstockpl.effects import Effects
from tickstockpl.metrics import Metrics
from tickstockpl.producer import TickProducer
from tickstockpl.replicas import REFRESH_S, Role, WaitTarget
from tickstockpl.settings import Settings

TIMEOUT_MS = 400
TICK = {"event_type": "tick_data", "ticker": "MSFT", "price": 10.0, "volume": 5,
        "timestamp": 1.7e9, "source": "tickstock_pl", "market_status": "PRE"}


@pytest.fixture
def master_two_replicas(tmp_path: Path) -> Iterator[tuple[Proc, list[Proc]]]:
    master = start_redis(tmp_path, "master")
    replicas = [start_redis(tmp_path, f"r{i}", "--replicaof", "127.0.0.1", str(master.port)) for i in (1, 2)]
    try:
        m = master.client()
        wait_until(lambda: len(m.execute_command("ROLE")[2]) == 2, 15, "both replicas online")
        m.set("synced", 1)
        assert m.wait(2, 10_000) == 2, "both replicas stream"
        yield master, replicas
    finally:
        for p in (*replicas, master):
            if p.popen.poll() is None:
                os.kill(p.popen.pid, signal.SIGCONT)
            p.kill()


def test_target_is_every_replica_in_sync_at_least_the_floor(
    master_two_replicas: tuple[Proc, list[Proc]], redis_server: Proc
) -> None:
    master, replicas = master_two_replicas
    assert Role.of(master.client()) == Role("master", 2)
    replica_role = Role.of(replicas[0].client())
    assert replica_role.name != "master" and replica_role.replicas == 0
    now = [0.0]
    target = WaitTarget(master.client(), clock=lambda: now[0])
    assert (target.wanted(0), target.wanted(1), target.wanted(3)) == (0, 2, 3)
    replicas[1].kill()
    wait_until(lambda: len(master.client().execute_command("ROLE")[2]) == 1, 15, "the master to drop r2")
    assert target.wanted(1) == 2, "asked ROLE under a second ago: the cached count"
    now[0] += REFRESH_S
    assert target.wanted(1) == 1
    replicas[0].kill()
    wait_until(lambda: not master.client().execute_command("ROLE")[2], 15, "the master to drop r1")
    target.short()
    assert target.wanted(1) == 1, "no replica in sync: the floor"
    assert WaitTarget(redis_server.client()).wanted(1) == 1  # a lone server


def test_role_refused_falls_back_to_the_floor_with_one_warning(
    redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    admin = redis_server.client()
    admin.execute_command("ACL", "SETUSER", "norole", "reset", "on", ">pw", "+ping")
    try:
        target = WaitTarget(redis.Redis(port=redis_server.port, username="norole", password="pw"))
        assert target.wanted(1) == 1
        target.short()
        assert target.wanted(2) == 2
        assert [r.getMessage() for r in caplog.records if "ROLE refused" in r.getMessage()] == [
            "ROLE refused to this user: WAIT asks only TICKSTOCKPL_WAIT_REPLICAS replicas"]
    finally:
        admin.execute_command("ACL", "DELUSER", "norole")


def test_claims_wait_for_both_replicas_not_only_the_first(
    master_two_replicas: tuple[Proc, list[Proc]], caplog: pytest.LogCaptureFixture
) -> None:
    """WAIT 1 would return at once: the running replica confirms. The stopped one must be waited for."""
    master, replicas = master_two_replicas
    settings = Settings.from_env(env_of(master, TICKSTOCKPL_WAIT_REPLICAS="1",
                                        TICKSTOCKPL_WAIT_TIMEOUT_MS=str(TIMEOUT_MS),
                                        TICKSTOCKPL_DETECTORS="price_movement"))
    caplog.set_level(logging.WARNING, logger="tickstockpl.effects")
    effects = Effects(master.client(), settings, Metrics())
    os.kill(replicas[1].popen.pid, signal.SIGSTOP)
    started = time.monotonic()
    published = effects.commit(_two_ticks_batch(settings), NoAck())  # type: ignore[arg-type]
    assert time.monotonic() - started >= TIMEOUT_MS / 1000 * 0.9
    assert len(published) == 1, "the floor (1) was met: published"
    warned = [r for r in caplog.records if r.getMessage().startswith("pattern claims not confirmed")]
    assert [(r.ctx["wanted"], r.ctx["got"]) for r in warned] == [(2, 1)]  # type: ignore[attr-defined]
    os.kill(replicas[1].popen.pid, signal.SIGCONT)
    key = CONTRACT.pattern_prefix + published[0].pattern_id
    wait_until(lambda: all(r.client().exists(key) for r in replicas), 10, "the claim on both replicas")


def test_producer_waits_for_both_replicas_and_confirms_on_the_floor(
    master_two_replicas: tuple[Proc, list[Proc]]
) -> None:
    master, replicas = master_two_replicas
    producer = TickProducer(master.client(), "tick-w", wait_replicas=1, wait_timeout_ms=TIMEOUT_MS,
                            retry_for_s=0)
    assert producer.send([TICK]) == 1
    os.kill(replicas[1].popen.pid, signal.SIGSTOP)
    started = time.monotonic()
    assert producer.send([TICK]) == 1, "one replica of the floor of 1: confirmed"
    assert time.monotonic() - started >= TIMEOUT_MS / 1000 * 0.9, "WAIT asked for both"
    producer.wait_replicas = 2
    with pytest.raises(Exception, match="WAIT: 1 of 2 replicas"):
        producer.send([TICK])
