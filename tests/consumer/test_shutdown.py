"""SIGTERM is honoured promptly in every state, including Redis gone mid-run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from servers import TICKSTOCKPL, start_redis, subprocess_env, wait_until
from tickstockpl.contract import CONTRACT


def test_sigterm_exits_within_seconds_while_redis_is_unreachable(tmp_path: Path) -> None:
    server = start_redis(tmp_path, "doomed")
    env = {
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port), "TICKSTOCKPL_HTTP_PORT": "0",
        # A long budget: before the fix SIGTERM waited it out (29 s in the report).
        "REDIS_FAILOVER_TIMEOUT": "60", "TICKSTOCKPL_LOG_LEVEL": "DEBUG",
    }
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: server.client().xinfo_groups(CONTRACT.stream) != [], 15, "group created")
        server.kill()
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
    assert took < 5, f"SIGTERM took {took:.1f} s with Redis unreachable"
    print(f"exit after SIGTERM with Redis down: {took:.2f} s")
