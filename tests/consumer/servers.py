"""Start real server / Sentinel processes, Redis's or Valkey's, on loopback ports.

Nothing here is mocked. TICKSTOCK_TEST_ENGINE (redis, the default, or valkey)
chooses the binaries, here and nowhere else. A missing binary skips the tests
that need it, but fails them under CI=true: a run that skipped them proved nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from tickstockpl.contract import CONTRACT

# The roles' table of what differs between the engines (binaries among it).
sys.path.insert(0, str(Path(__file__).parents[2] / "plugins" / "filter"))
from engine_facts import ENGINES

ENGINE_VAR = "TICKSTOCK_TEST_ENGINE"


def engine_from_env(env: Mapping[str, str]) -> str:
    name = env.get(ENGINE_VAR, "").strip() or "redis"
    if name not in ENGINES:
        raise pytest.UsageError(f"{ENGINE_VAR}={name!r}: must be one of {', '.join(ENGINES)}")
    return name


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/bin/{name}"


ENGINE = engine_from_env(os.environ)
SERVER_BIN, SENTINEL_BIN, CLI_BIN = (
    _binary(Path(ENGINES[ENGINE][key]).name) for key in ("server_bin", "sentinel_bin", "cli"))
MASTER_NAME = CONTRACT.master_name
# As the lab's. At 1000 ms a busy CI machine's Sentinel once missed a newly promoted
# master's first replies and failed it over again 1 s later: ODOWN in the same
# millisecond as SDOWN, the other Sentinels' down votes for the old master still
# counted (Valkey 8.0.1).
DOWN_AFTER_MS = 2000
TICKSTOCKPL = [sys.executable, "-m", "tickstockpl"]


def need(binary: str) -> None:
    """Skip without the binary; under CI=true fail instead (the run must test the engine it names)."""
    if os.access(binary, os.X_OK):
        return
    what = f"{binary} not installed ({ENGINE_VAR}={ENGINE})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI=true, so a missing binary fails the test instead of skipping it", pytrace=False)
    pytest.skip(what)


def server_version(binary: str = SERVER_BIN) -> str:
    """The version `--version` prints (v=8.0.1 -> 8.0.1), or why there is none."""
    if not os.access(binary, os.X_OK):
        return "not installed"
    out = subprocess.run([binary, "--version"], check=False, capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"\bv=(\S+)", out)
    return m.group(1) if m else out.strip() or "version unknown"


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
    """A server of the chosen engine (Redis or Valkey, whatever the name says)."""
    need(SERVER_BIN)
    port = free_port()
    d = tmp / name
    d.mkdir()
    args = [
        SERVER_BIN, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d),
        "--save", "", "--appendonly", "no", "--daemonize", "no", "--repl-diskless-sync-delay", "0",
        "--logfile", str(d / "redis.log"), *extra,
    ]
    proc = Proc(port, d, subprocess.Popen(args))
    wait_until(lambda: proc.client().ping(), 10, f"redis {name} on {port}")
    return proc


def start_sentinel(tmp: Path, name: str, master_port: int, quorum: int = 2) -> Proc:
    need(SENTINEL_BIN)
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
    proc = Proc(port, d, subprocess.Popen([SENTINEL_BIN, str(conf)]))
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

    def failover(self, timeout: float = 15) -> None:
        """SENTINEL FAILOVER, asked again while Sentinel answers NOGOODSLAVE: it only promotes a
        replica it has had INFO from, and its first INFO of a new replica may still be on its way."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
                return
            except redis.ResponseError as exc:
                if "NOGOODSLAVE" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "TICKSTOCKPL_"))}
    env.pop("NOTIFY_SOCKET", None)
    env.update(extra)
    return env
