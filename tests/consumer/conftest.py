"""Fixtures: real server and Sentinel processes (Redis or Valkey: servers.py), started and stopped per scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import (
    ENGINE,
    ENGINE_VAR,
    MASTER_NAME,
    SENTINEL_BIN,
    SERVER_BIN,
    Cluster,
    Proc,
    need,
    server_version,
    start_redis,
    start_sentinel,
    wait_until,
)


def pytest_report_header() -> list[str]:
    """Which engine the run tests, so a log says what its passes are worth."""
    return [f"engine: {ENGINE} ({ENGINE_VAR}), {SERVER_BIN} {server_version()}, sentinel {SENTINEL_BIN}"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A master, 2 replicas and 3 sentinels; fresh per test (tests kill nodes)."""
    need(SERVER_BIN)
    need(SENTINEL_BIN)
    master = start_redis(tmp_path, "master")
    replicas = [
        start_redis(tmp_path, f"replica{i}", "--replicaof", "127.0.0.1", str(master.port))
        for i in (1, 2)
    ]
    c = Cluster(master, replicas, [])
    c.procs = [master, *replicas]
    try:
        for r in replicas:
            wait_until(
                lambda r=r: r.client().info("replication")["master_link_status"] == "up",
                15, "replica sync",
            )
        c.sentinels = [start_sentinel(tmp_path, f"sentinel{i}", master.port) for i in (1, 2, 3)]
        c.procs += c.sentinels

        def sentinels_agree() -> bool:
            for s in c.sentinels:
                m = s.client().sentinel_master(MASTER_NAME)
                if m["num-other-sentinels"] < 2 or m["num-slaves"] < 2:
                    return False
            return True

        wait_until(sentinels_agree, 20, "sentinels to discover each other", step=0.2)
        yield c
    finally:
        for p in c.procs:
            p.kill()


@pytest.fixture
def small_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A master, one replica and one sentinel (quorum 1): enough for SENTINEL FAILOVER, quick to start."""
    master = start_redis(tmp_path, "master")
    replica = start_redis(tmp_path, "replica", "--replicaof", "127.0.0.1", str(master.port))
    c = Cluster(master, [replica], [])
    c.procs = [master, replica]
    try:
        wait_until(lambda: replica.client().info("replication")["master_link_status"] == "up", 15, "replica sync")
        c.sentinels = [start_sentinel(tmp_path, "sentinel", master.port, quorum=1)]
        c.procs += c.sentinels
        wait_until(lambda: c.sentinels[0].client().sentinel_master(MASTER_NAME)["num-slaves"] >= 1,
                   15, "sentinel to find the replica", step=0.1)
        yield c
    finally:
        for p in c.procs:
            p.kill()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = start_redis(tmp_path_factory.mktemp("standalone"), "standalone")
    yield proc
    proc.kill()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Proc]:
    """A server of the test's own (its memory measured alone), killed after the test."""
    proc = start_redis(tmp_path, "own")
    yield proc
    proc.kill()


@pytest.fixture
def redis_env(redis_server: Proc) -> dict[str, str]:
    """Environment for a direct connection to a clean standalone server."""
    redis_server.client().flushall()
    return {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_server.port),
        "TICKSTOCKPL_HTTP_PORT": "0",
        "REDIS_FAILOVER_TIMEOUT": "5",
    }
