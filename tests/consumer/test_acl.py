"""The consumer works as the kit's `consumer` ACL user: its scripts call only what that user may."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jinja2
import redis
import yaml
from servers import Proc
from tickstockpl.contract import CONTRACT
from tickstockpl.replicas import WaitTarget
from tickstockpl.seen import marked
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good

DEFAULTS = Path(__file__).parents[2] / "roles" / "redis_server" / "defaults" / "main.yml"


def consumer_rules() -> str:
    raw = yaml.safe_load(DEFAULTS.read_text())["redis_server_acl_users"]["consumer"]
    names = {f"tickstock_{f.name}": getattr(CONTRACT, f.name) for f in dataclasses.fields(CONTRACT)}
    return jinja2.Template(raw, undefined=jinja2.StrictUndefined).render(names)


def test_consumer_acl_user_runs_every_script(redis_env: dict[str, str], redis_server: Proc) -> None:
    admin = redis_server.client()
    admin.execute_command("ACL", "SETUSER", "tsconsumer", "reset", "on", ">secret", *consumer_rules().split())
    try:
        admin.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        # Pending big entries: the drain script measures them (needs the budget to be passed first).
        admin.xadd(STREAM, {"data": good(1, pad="x" * 3_000_000)})
        admin.xadd(STREAM, {"data": good(2)})
        env = {**redis_env, "REDIS_USERNAME": "tsconsumer", "REDIS_PASSWORD": "secret",
               "TICKSTOCKPL_READ_BUDGET_BYTES": str(1 << 20), "TICKSTOCKPL_SEEN_WINDOW": "65536"}
        w = Running(env)
        try:
            w.wait(lambda: w.consumer.processed == 1 and admin.exists(CONTRACT.seen_prefix + "manual:0"))
            # Moves the window past segment 0: the script drops it.
            admin.xadd(STREAM, {"data": good(3 * 65536 + 1, price=100.0)})
            w.wait(lambda: w.consumer.processed == 2 and admin.xlen(DEAD_LETTER_STREAM) == 1
                   and admin.xpending(STREAM, GROUP)["pending"] == 0)
        finally:
            w.stop()
        assert marked(admin, CONTRACT.seen_prefix, "manual", [3 * 65536 + 1]) == {3 * 65536 + 1}
        assert not admin.exists(CONTRACT.seen_prefix + "manual:0"), "dropped: behind the window"
        # How many replicas a WAIT asks (ROLE): allowed, so no fallback to the floor alone.
        as_consumer = redis.Redis(port=redis_server.port, username="tsconsumer", password="secret", driver_info=None)
        assert WaitTarget(as_consumer).wanted(1) == 1
        # Nothing refused, on either engine: redis-py's CLIENT SETINFO on connect
        # (refused on Valkey 8, which has it) is turned off by the consumer.
        assert not [e for e in admin.acl_log() if e.get("username") == "tsconsumer"], admin.acl_log()
    finally:
        admin.execute_command("ACL", "DELUSER", "tsconsumer")
        admin.acl_log_reset()
    assert isinstance(admin, redis.Redis)
