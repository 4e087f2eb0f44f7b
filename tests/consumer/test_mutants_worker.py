"""The loop: prompt shutdown while Redis is gone, a lost group recreated (found by bench/mutation; in process)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest
from servers import Proc, start_redis, wait_until
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.notify import Notifier
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker
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


class FirstReady(Notifier):
    """Notes what the worker had done when it first told systemd READY=1."""

    def __init__(self) -> None:
        super().__init__()
        self.processed_then: int | None = None
        self.worker: Worker | None = None

    def ready(self, status: str = "consuming") -> None:
        if self.processed_then is None and self.worker is not None:
            self.processed_then = self.worker.processed
        super().ready(status)


def test_ready_only_once_our_pending_entries_are_drained(redis_env: dict[str, str], redis_server: Proc) -> None:
    """systemd (Type=notify) and the role's rolling restart take READY=1 as 'caught up': not before the drain."""
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    for i in range(12):
        r.xadd(STREAM, {"data": good(i)})
    r.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=12)  # ours, from before a restart
    settings = Settings.from_env({**redis_env, "TICKSTOCKPL_CONSUMER_ID": "c1", "TICKSTOCKPL_BATCH_SIZE": "5",
                                  "TICKSTOCKPL_BLOCK_MS": "100"})
    notifier = FirstReady()
    shutdown = Shutdown()
    worker = Worker(settings, Connector(settings), shutdown, notifier=notifier)
    notifier.worker = worker
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        wait_until(lambda: notifier.processed_then is not None, 10, "READY")
    finally:
        shutdown.request()
        t.join(10)
        worker.conn.close()
    assert notifier.processed_then == 12  # the whole drain (three batches) first
