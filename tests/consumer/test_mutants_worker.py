"""The loop stops promptly on shutdown even while Redis is gone (found by bench/mutation; in process)."""

from __future__ import annotations

import time
from pathlib import Path

from servers import start_redis, wait_until
from tickstockpl.contract import CONTRACT
from workers import Running


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
