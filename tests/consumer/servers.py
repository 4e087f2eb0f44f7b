"""Start real redis-server / redis-sentinel processes on loopback ports.

Nothing here is mocked. Tests skip (never fake) when a binary is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from tickstockpl.contract import CONTRACT

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"
MASTER_NAME = CONTRACT.master_name
DOWN_AFTER_MS = 1000
TICKSTOCKPL = [sys.executable, "-m", "tickstockpl"]


def need(binary: str) -> None:
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(pred: object, timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():  # type: ignore[operator]
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Proc:
    port: int
    dir: Path
    popen: subprocess.Popen[bytes]

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(5)


def start_redis(tmp: Path, name: str, *extra: str) -> Proc:
    need(REDIS_SERVER)
    port = free_port()
    d = tmp / name
    d.mkdir()
    args = [
        REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d),
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--repl-diskless-sync-delay", "0",
        "--logfile", str(d / "redis.log"), *extra,
    ]
    proc = Proc(port, d, subprocess.Popen(args))
    wait_until(lambda: proc.client().ping(), 10, f"redis {name} on {port}")
    return proc


def start_sentinel(tmp: Path, name: str, master_port: int, quorum: int = 2) -> Proc:
    need(REDIS_SENTINEL)
    port = free_port()
    d = tmp / name
    d.mkdir()
    conf = d / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {d}\nlogfile {d / 'sentinel.log'}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} {quorum}\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} 3000\n"
        f"sentinel parallel-syncs {MASTER_NAME} 2\n"
    )
    proc = Proc(port, d, subprocess.Popen([REDIS_SENTINEL, str(conf)]))
    wait_until(lambda: proc.client().ping(), 10, f"sentinel {name} on {port}")
    return proc


@dataclass
class Cluster:
    master: Proc
    replicas: list[Proc]
    sentinels: list[Proc]
    procs: list[Proc] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels),
            "REDIS_SENTINEL_MASTER": MASTER_NAME,
            "REDIS_FAILOVER_TIMEOUT": "20",
            "TICKSTOCKPL_HTTP_PORT": "0",
        }

    def master_port(self) -> int:
        addr = self.sentinels[0].client().execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME
        )
        return int(addr[1])



def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "TICKSTOCKPL_"))}
    env.pop("NOTIFY_SOCKET", None)
    env.update(extra)
    return env
