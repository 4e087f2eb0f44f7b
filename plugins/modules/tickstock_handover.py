#!/usr/bin/python
"""Hand the master role over with SENTINEL FAILOVER, losing no acknowledged write."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tickstock_handover
short_description: Planned hand-over of the master role (the rolling restart's switchover)
description:
  - Runs on a Sentinel host, in one go, because Ansible's own pace between
    tasks would stretch the write pause. playbooks/drills/switchover.yml says
    why each step is there.
  - 1. CLIENT PAUSE WRITE on the old master; 2. wait until every replica has
    every byte of it; 3. SENTINEL FAILOVER, wait until this Sentinel names the
    new master; 4. wait until the old master has no replica left, drop its
    clients, wait until every Sentinel names the new master, make the old
    master a replica of the new one and drop its clients again (one
    transaction), lift the pause. The pause is lifted on every way out.
  - Passwords travel in the module's arguments (no_log), never on a command
    line or in an environment.
options:
  old_master: {type: str, required: true, description: Address of the master to hand over.}
  redis_port: {type: int, required: true, description: Redis port.}
  redis_user: {type: str, required: true, description: ACL user on Redis (admin).}
  redis_password: {type: str, required: true, no_log: true, description: Its password.}
  sentinel_port: {type: int, required: true, description: Sentinel port.}
  sentinel_user: {type: str, required: true, description: ACL user on Sentinel (admin).}
  sentinel_password: {type: str, required: true, no_log: true, description: Its password.}
  sentinels: {type: list, elements: str, required: true, description: Every Sentinel's address.}
  master_name: {type: str, required: true, description: The monitored master's name.}
  replicas: {type: int, required: true, description: How many replicas the old master has.}
  pause_ms: {type: int, required: true, description: Longest write pause.}
  timeout_s: {type: float, required: true, description: Longest wait of each step.}
  tls: {type: bool, default: false, description: Use TLS.}
  tls_ca: {type: path, description: CA bundle that signs the server certificates.}
  tls_cert: {type: path, description: Client certificate.}
  tls_key: {type: path, description: Key of that certificate.}
"""

RETURN = r"""
times:
  description: >-
    Epoch seconds of paused_at, caught_up_at, failover_at, new_master_at,
    old_alone_at, sentinels_agree_at and unpaused_at (those reached).
  type: dict
new_master: {description: Address of the promoted replica., type: str}
"""

import time  # noqa: E402 (Ansible modules keep their docs first)
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.tickstock_resp import Connection, RedisReplyError, info_replicas, parse_info  # noqa: E402

POLL_S = 0.02


class GiveUp(Exception):
    pass


class Handover:
    def __init__(self, p: dict[str, Any]) -> None:
        self.p = p
        self.times: dict[str, float] = {}
        self.new_master = ""

    def _call(self, host: str, port: int, user: str, password: str, *cmd: Any) -> Any:
        p = self.p
        conn = Connection(host, port, 5.0, p["tls"], p["tls_ca"], p["tls_cert"], p["tls_key"])
        try:
            conn.call("AUTH", user, password)
            return conn.call(*cmd)
        finally:
            conn.close()

    def redis(self, *cmd: Any) -> Any:
        p = self.p
        return self._call(p["old_master"], p["redis_port"], p["redis_user"], p["redis_password"], *cmd)

    def sentinel(self, host: str, *cmd: Any) -> Any:
        p = self.p
        return self._call(host, p["sentinel_port"], p["sentinel_user"], p["sentinel_password"], *cmd)

    def info(self) -> dict[str, str]:
        fields: dict[str, str] = parse_info(str(self.redis("INFO", "replication")))
        return fields

    def mark(self, what: str) -> None:
        self.times[what] = time.time()

    def wait_for(self, what: str, check: Any) -> None:
        deadline = time.monotonic() + self.p["timeout_s"]
        while True:
            try:
                if check():
                    return
            except (OSError, RedisReplyError):
                pass  # asked again until the deadline
            if time.monotonic() >= deadline:
                raise GiveUp(f"no {what} within {self.p['timeout_s']} s")
            time.sleep(POLL_S)

    # -- the checks ------------------------------------------------------
    def caught_up(self) -> bool:
        """Every replica online, at the master's offset, and as many as expected."""
        info = self.info()
        replicas = info_replicas(info)
        return len(replicas) == self.p["replicas"] and all(
            r.get("state") == "online" and r.get("offset") == info.get("master_repl_offset") for r in replicas)

    def switched(self) -> bool:
        reply = self.sentinel("127.0.0.1", "SENTINEL", "get-master-addr-by-name", self.p["master_name"])
        self.new_master = reply[0] if isinstance(reply, list) and reply else ""
        return self.new_master not in ("", self.p["old_master"])

    def all_agree(self) -> bool:
        # Clients (redis-py) read the ip of SENTINEL MASTER(S), which the leading
        # Sentinel changes only when the failover ends: one still naming the old
        # master would send clients back to it once it is demoted.
        for host in self.p["sentinels"]:
            reply = self.sentinel(host, "SENTINEL", "MASTER", self.p["master_name"])
            fields = dict(zip(reply[::2], reply[1::2], strict=False)) if isinstance(reply, list) else {}
            if fields.get("ip") != self.new_master:
                return False
        return True

    def alone(self) -> bool:
        return self.info().get("connected_slaves") == "0"

    # -- the hand-over ---------------------------------------------------
    def run(self) -> None:
        p = self.p
        self.mark("paused_at")
        if self.redis("CLIENT", "PAUSE", p["pause_ms"], "WRITE") != "OK":
            raise GiveUp("CLIENT PAUSE refused")
        try:
            self.wait_for("catch-up of the replicas", self.caught_up)
            self.mark("caught_up_at")
            self.mark("failover_at")
            if self.sentinel("127.0.0.1", "SENTINEL", "FAILOVER", p["master_name"]) != "OK":
                raise GiveUp("SENTINEL FAILOVER refused")
            self.wait_for("new master", self.switched)
            self.mark("new_master_at")
            self.wait_for("departure of the old master's replicas", self.alone)
            self.mark("old_alone_at")
            # Send the clients to Sentinel now; one told the old master again
            # finds it still paused, and what it sends waits there, unrun.
            self.redis("CLIENT", "KILL", "TYPE", "normal")
            self.wait_for("agreement of every Sentinel", self.all_agree)
            self.mark("sentinels_agree_at")
            if self.info().get("role") == "master":
                self.demote()
        finally:
            self.redis("CLIENT", "UNPAUSE")
            self.mark("unpaused_at")

    def demote(self) -> None:
        """As Sentinel demotes a master, in one transaction: nothing sent during the pause runs here."""
        p = self.p
        conn = Connection(p["old_master"], p["redis_port"], 5.0, p["tls"], p["tls_ca"], p["tls_cert"], p["tls_key"])
        try:
            conn.call("AUTH", p["redis_user"], p["redis_password"])
            conn.call("MULTI")
            for cmd in (["REPLICAOF", self.new_master, p["redis_port"]], ["CONFIG", "REWRITE"],
                        ["CLIENT", "KILL", "TYPE", "normal"], ["CLIENT", "KILL", "TYPE", "pubsub"]):
                conn.call(*cmd)
            out = conn.call("EXEC")
        finally:
            conn.close()
        if self.info().get("role") != "slave":
            raise GiveUp(f"demotion failed: {out}")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "old_master": {"type": "str", "required": True},
            "redis_port": {"type": "int", "required": True},
            "redis_user": {"type": "str", "required": True},
            "redis_password": {"type": "str", "required": True, "no_log": True},
            "sentinel_port": {"type": "int", "required": True},
            "sentinel_user": {"type": "str", "required": True},
            "sentinel_password": {"type": "str", "required": True, "no_log": True},
            "sentinels": {"type": "list", "elements": "str", "required": True},
            "master_name": {"type": "str", "required": True},
            "replicas": {"type": "int", "required": True},
            "pause_ms": {"type": "int", "required": True},
            "timeout_s": {"type": "float", "required": True},
            "tls": {"type": "bool", "default": False},
            "tls_ca": {"type": "path"},
            "tls_cert": {"type": "path"},
            "tls_key": {"type": "path"},
        },
    )
    h = Handover(module.params)
    try:
        h.run()
    except (GiveUp, OSError, RedisReplyError) as exc:
        module.fail_json(msg=f"hand-over stopped: {exc}", times=h.times, new_master=h.new_master)
    module.exit_json(changed=True, times=h.times, new_master=h.new_master)


if __name__ == "__main__":
    main()
