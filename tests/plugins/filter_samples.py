"""Replies as Debian 12's redis-cli 7.0 prints them (taken from the lab)."""

from __future__ import annotations

INFO_MASTER = (
    "# Replication\r\n"
    "role:master\r\n"
    "connected_slaves:2\r\n"
    "min_slaves_good_slaves:2\r\n"
    "slave0:ip=172.18.0.3,port=6379,state=online,offset=10771,lag=1\r\n"
    "slave1:ip=172.18.0.4,port=6379,state=online,offset=10771,lag=0\r\n"
    "master_failover_state:no-failover\r\n"
    "master_replid:00c95601c0d11886576c4c2c98a858113f3ff49e\r\n"
    "master_repl_offset:10771\r\n"
    "second_repl_offset:-1\r\n"
)

INFO_REPLICA = (
    "# Replication\r\n"
    "role:slave\r\n"
    "master_host:172.18.0.2\r\n"
    "master_port:6379\r\n"
    "master_link_status:up\r\n"
    "master_last_io_seconds_ago:1\r\n"
    "master_sync_in_progress:0\r\n"
    "slave_read_repl_offset:10771\r\n"
    "slave_repl_offset:10771\r\n"
    "connected_slaves:0\r\n"
)

SENTINEL_MASTER_LINES = [
    "name",
    "tickstock-redis",
    "ip",
    "172.18.0.2",
    "port",
    "6379",
    "flags",
    "master",
    "down-after-milliseconds",
    "2000",
    "config-epoch",
    "3",
    "num-slaves",
    "2",
    "num-other-sentinels",
    "2",
    "quorum",
    "2",
    "failover-timeout",
    "10000",
    "parallel-syncs",
    "1",
]
SENTINEL_MASTER_RAW = "\n".join(SENTINEL_MASTER_LINES)


def module_result(*replies: object, errors: list[str | None] | None = None,
                  messages: list[object] | None = None) -> dict[str, object]:
    """A registered tickstock_redis result, its texts made by the module's own as_text."""
    from tickstock_resp import as_text

    return {"changed": False, "replies": list(replies), "texts": [as_text(r) for r in replies],  # type: ignore[arg-type]
            "errors": errors or [None] * len(replies), "messages": messages or []}


def result(stdout: str = "", rc: int = 0, stderr: str = "") -> dict[str, object]:
    """A registered command result."""
    return {"rc": rc, "stdout": stdout, "stderr": stderr, "stdout_lines": stdout.splitlines()}
