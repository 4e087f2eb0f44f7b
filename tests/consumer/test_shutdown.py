"""SIGTERM is honoured promptly in every state, including Redis gone mid-run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from conftest import Cluster
from servers import TICKSTOCKPL, Proc, start_redis, subprocess_env, wait_until
from tickstockpl.contract import CONTRACT


def sigterm_with_redis_gone(env: dict[str, str], data_node: Proc, also_kill: list[Proc]) -> float:
    """Start a consumer, kill Redis (and also_kill), SIGTERM it; seconds until it exited 0."""
    env = {**env, "TICKSTOCKPL_HTTP_PORT": "0", "TICKSTOCKPL_LOG_LEVEL": "DEBUG",
           # A long budget: before the fix SIGTERM waited it out (29 s in the report).
           "REDIS_FAILOVER_TIMEOUT": "60"}
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: data_node.client().xinfo_groups(CONTRACT.stream) != [], 15, "group created")
        for p in [data_node, *also_kill]:
            p.kill()
        time.sleep(2.5)  # inside the retry loop by now: every call fails, the budget is 60 s
        assert proc.poll() is None, "the consumer must keep retrying while Redis is away"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    lines = [json.loads(x) for x in err.decode().splitlines() if x.startswith("{")]
    assert any(x["msg"] == "redis operation failed, retrying" for x in lines), "never saw Redis fail"
    assert proc.returncode == 0, err[-2000:]
    return took


def test_sigterm_exits_within_seconds_while_redis_is_unreachable(tmp_path: Path) -> None:
    server = start_redis(tmp_path, "doomed")
    took = sigterm_with_redis_gone({"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port)}, server, [])
    print(f"exit after SIGTERM with Redis down: {took:.2f} s")
    assert took < 5, f"SIGTERM took {took:.1f} s with Redis unreachable"


def test_sigterm_exits_within_seconds_with_master_and_sentinels_gone(small_cluster: Cluster) -> None:
    c = small_cluster
    took = sigterm_with_redis_gone(c.env(), c.master, [*c.sentinels, *c.replicas])
    print(f"exit after SIGTERM with master and Sentinel down: {took:.2f} s")
    assert took < 5, f"SIGTERM took {took:.1f} s with Redis unreachable"
