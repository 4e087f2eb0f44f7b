"""The loop: prompt shutdown while Redis is gone, a lost group recreated (found by bench/mutation; in process)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from servers import Proc, start_redis, wait_until
from tickstockpl.contract import CONTRACT
from workers import GROUP, STREAM, Running, good


def test_shutdown_cuts_the_retry_budget_short_while_redis_is_gone(tmp_path: Path) -> None:
    server = start_redis(tmp_path, "doomed")
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port), "TICKSTOCKPL_HTTP_PORT": "0",
           "REDIS_FAILOVER_TIMEOUT": "60"}  # a long budget, which a stopping loop must not wait out
    w = Running(env)
    try:
        wait_until(lambda: server.client().xinfo_groups(CONTRACT.stream) != [], 15, "group created")
        server.kill()
        time.sleep(1.5)  # inside the retry loop by now
        assert w.thread.is_alive(), "the loop must keep retrying while Redis is away"
        started = time.monotonic()
        w.shutdown.request()
        w.thread.join(20)
        took = time.monotonic() - started
        assert not w.thread.is_alive() and took < 5, f"shutdown took {took:.1f} s with Redis unreachable"
    finally:
        w.shutdown.request()
        w.thread.join(20)
        w.consumer.conn.close()
        server.kill()


def test_a_lost_group_is_said_and_recreated_and_the_loop_goes_on(
    redis_env: dict[str, str], redis_server: Proc, caplog: pytest.LogCaptureFixture
) -> None:
    """A master restarted without its data (or a FLUSHALL) loses the group: say so, recreate it, consume on."""
    caplog.set_level(logging.WARNING, logger="tickstockpl.worker")
    r = redis_server.client()
    w = Running(redis_env, TICKSTOCKPL_CLAIM_INTERVAL="600")
    try:
        r.xadd(STREAM, {"data": good(0)})
        w.wait(lambda: w.consumer.processed == 1 and r.xpending(STREAM, GROUP)["pending"] == 0)
        r.xgroup_destroy(STREAM, GROUP)
        r.xadd(STREAM, {"data": good(1)})
        w.wait(lambda: w.consumer.processed == 3, what="both ticks again: the group starts over at 0")
    finally:
        w.stop()
    lost = [rec.ctx["error"] for rec in caplog.records  # type: ignore[attr-defined]
            if rec.getMessage() == "server lost the consumer group; recreating"]
    assert len(lost) == 1 and lost[0].startswith("NOGROUP")
    assert [g["name"] for g in r.xinfo_groups(STREAM)] == [GROUP.encode()]
