"""The one consume loop, in both modes: what it promises about order, health and failover."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from conftest import Cluster
from servers import CLI_BIN, Proc, free_port, need, start_redis, wait_until
from tickstockpl.contract import CONTRACT
from tickstockpl.endpoints import LiveState, serve
from tickstockpl.metrics import Metrics
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good, publish


def gauge(w: Running, name: str = "connected") -> float:
    value: float = getattr(w.consumer.metrics, name)._value.get()
    return value


@pytest.mark.parametrize("mode", ["stream", "pubsub"])
def test_connected_metric_and_readiness_follow_redis_in_both_modes(
    tmp_path: Path, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_redis(tmp_path, "own")
    env = {
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port), "TICKSTOCKPL_HTTP_PORT": "0",
        "REDIS_FAILOVER_TIMEOUT": "0.3", "TICKSTOCKPL_MODE": mode, "TICKSTOCKPL_BLOCK_MS": "100",
    }
    w = Running(env)
    try:
        wait_until(lambda: gauge(w) == 1 and w.consumer.state.ready(), 5, "connected")
        assert w.consumer.state.master == f"127.0.0.1:{server.port}"
        beat = w.consumer.state.last_beat
        wait_until(lambda: w.consumer.state.last_beat > beat, 3, "the loop to keep beating")
        server.kill()
        wait_until(lambda: gauge(w) == 0 and not w.consumer.state.ready(), 10, "disconnected")
        assert w.consumer.state.alive()  # still turning, only not connected
        assert not w.consumer.state.connected
        said = [rec.ctx["error"] for rec in caplog.records  # type: ignore[attr-defined]
                if rec.getMessage() == "redis unreachable beyond the failover budget; still trying"]
        assert said and said[0].startswith("ConnectionError: ")
        time.sleep(1.0)
        assert gauge(w) == 0  # every turn says so, not only the first
    finally:
        w.stop()
        server.kill()


def _monitor(port: int, out: Path) -> subprocess.Popen[bytes]:
    need(CLI_BIN)
    proc = subprocess.Popen([CLI_BIN, "-p", str(port), "monitor"], stdout=out.open("wb"))
    time.sleep(0.3)
    return proc


def _commands(out: Path) -> list[list[str]]:
    """MONITOR lines -> [COMMAND, arg, ...] in the order the server ran them (Lua calls included)."""
    cmds = []
    for line in out.read_text().splitlines():
        if "] " not in line:
            continue
        words = line.split("] ", 1)[1].split('" "')
        cmds.append([w.strip('"') for w in words])
        cmds[-1][0] = cmds[-1][0].upper()
    return cmds


def test_side_effects_then_wait_then_publish_then_ack(
    redis_env: dict[str, str], redis_server: Proc, tmp_path: Path
) -> None:
    """The order effects.py promises, as the server saw it (MONITOR)."""
    r = redis_server.client()
    # Batch 1: a pattern (110 after 100), a dead letter. Batch 2: no pattern, a dead letter.
    for raw in (good(0, price=100.0), good(1, price=110.0), b"{bad"):
        r.xadd(STREAM, {"data": raw})
    out = tmp_path / "monitor.txt"
    mon = _monitor(redis_server.port, out)
    try:
        w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_DETECTORS="price_movement",
                    TICKSTOCKPL_WAIT_REPLICAS="1", TICKSTOCKPL_WAIT_TIMEOUT_MS="1")
        w.wait(lambda: w.consumer.processed == 2)
        pipe = r.pipeline(transaction=True)  # one batch: both arrive at once
        for raw in (good(2, price=110.0), b"{bad"):
            pipe.xadd(STREAM, {"data": raw})
        pipe.execute()
        w.wait(lambda: w.consumer.processed == 3 and r.xlen(DEAD_LETTER_STREAM) == 2)
        w.wait(lambda: r.xpending(STREAM, GROUP)["pending"] == 0)
        w.stop()
    finally:
        mon.terminate()
        mon.wait(5)
    cmds = _commands(out)

    def where(pred: object) -> list[int]:
        return [i for i, c in enumerate(cmds) if pred(c)]  # type: ignore[operator]

    claims = where(lambda c: c[0] == "SET" and c[1].startswith(CONTRACT.pattern_prefix))
    marks = where(lambda c: c[0] == "SETBIT")
    dead = where(lambda c: c[0] == "XADD" and c[1] == DEAD_LETTER_STREAM)
    waits = where(lambda c: c[0] == "WAIT")
    publishes = where(lambda c: c[0] == "PUBLISH" and c[1] == CONTRACT.channel_patterns)
    acks = where(lambda c: c[0] == "XACK")
    assert len(claims) == len(waits) == len(publishes) == 1, cmds
    assert len(marks) == 3 and len(dead) == 2 and len(acks) == 2, cmds
    # Batch 1: every effect, then WAIT for the claim, then PUBLISH, then XACK.
    assert max(claims[0], marks[0], marks[1], dead[0]) < waits[0] < publishes[0] < acks[0]
    # The dead-letter stream stays bounded: 64 MiB at 2 KiB of payload + 1 KiB of the rest per entry.
    assert cmds[dead[0]][2:5] == ["MAXLEN", "~", str((64 << 20) // 3072)]
    assert cmds[claims[0]][3:] == ["NX", "EX", "86400"]  # a claim expires after TICKSTOCKPL_PATTERN_TTL
    at_ms = int(r.xrange(DEAD_LETTER_STREAM)[0][1][b"at_ms"])
    assert abs(at_ms / 1000 - time.time()) < 60
    # Batch 2 (no pattern): its effects before its XACK.
    assert acks[0] < min(marks[2], dead[1]) and max(marks[2], dead[1]) < acks[1]


def test_failover_re_drains_entries_the_new_master_holds_pending(small_cluster: Cluster) -> None:
    """Acks lost in a failover: the new master still has entries pending for us; we must re-read them."""
    c = small_cluster
    env = {**c.env(), "TICKSTOCKPL_PROCESS_TIMEOUT": "600", "TICKSTOCKPL_CLAIM_INTERVAL": "600"}
    w = Running(env, TICKSTOCKPL_CONSUMER_ID="c1")
    try:
        w.wait(lambda: w.consumer.state.ready() and not w.consumer.source.draining)
        publish(env, 20)
        master = c.master.client()
        n = master.xlen(STREAM)  # 20, or a few more if WAIT timed out and a batch was re-sent
        w.wait(lambda: w.consumer.processed == n and master.xpending(STREAM, GROUP)["pending"] == 0)
        # On the replica alone, as if our acks had not reached it: every entry pending for c1.
        replica = c.replicas[0].client()
        replica.config_set("replica-read-only", "no")
        replica.xgroup_setid(STREAM, GROUP, "0")
        replica.xreadgroup(GROUP, "c1", {STREAM: ">"})
        assert replica.xpending(STREAM, GROUP)["pending"] == n
        c.failover()
        wait_until(lambda: c.master_port() == c.replicas[0].port, 15, "failover")
        # What Sentinel does to the old master on its next INFO round, 10 s later.
        c.master.client().replicaof("127.0.0.1", c.replicas[0].port)
        w.wait(lambda: w.consumer.conn.failovers >= 1, 15, "failover seen")
        w.wait(lambda: replica.xpending(STREAM, GROUP)["pending"] == 0, 10, "pending entries re-drained")
        assert w.consumer.processed == 2 * n
        assert w.consumer.state.master == f"127.0.0.1:{c.replicas[0].port}"
        assert gauge(w, "failovers") >= 1
    finally:
        w.stop()


def _get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_healthz_503_once_the_loop_stalls_and_readyz_needs_master_and_group() -> None:
    state = LiveState(stall_after_s=0.3)
    port = free_port()
    server = serve("127.0.0.1", port, state, Metrics())
    try:
        state.beat()
        assert _get(port, "/healthz") == 200
        time.sleep(0.4)  # no beat: the loop is stuck somewhere
        assert _get(port, "/healthz") == 503
        state.beat()
        assert _get(port, "/healthz") == 200
        for connected, group_ready in ((False, False), (True, False), (False, True)):
            state.connected, state.group_ready = connected, group_ready
            assert _get(port, "/readyz") == 503, (connected, group_ready)
        state.connected = state.group_ready = True
        assert _get(port, "/readyz") == 200
    finally:
        server.shutdown()


def test_consumer_on_a_replica_is_alive_but_not_ready(redis_server: Proc, tmp_path: Path) -> None:
    """No master (the node refuses writes): /readyz 503, /healthz 200."""
    replica = start_redis(tmp_path, "replica", "--replicaof", "127.0.0.1", str(redis_server.port))
    port = free_port()
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(replica.port), "TICKSTOCKPL_HTTP_PORT": "0",
           "REDIS_FAILOVER_TIMEOUT": "0.3"}
    w = Running(env)
    server = serve("127.0.0.1", port, w.consumer.state, w.consumer.metrics)
    try:
        assert r_role(replica) == "slave"
        wait_until(lambda: w.consumer.conn.last_error is not None, 5, "a refused turn")
        assert _get(port, "/readyz") == 503 and _get(port, "/healthz") == 200
        assert gauge(w) == 0 and not w.consumer.state.group_ready
    finally:
        server.shutdown()
        w.stop()
        replica.kill()


def r_role(p: Proc) -> str:
    role = p.client().execute_command("ROLE")[0]
    return role.decode() if isinstance(role, bytes) else str(role)


def test_loop_keeps_going_after_redis_refuses_a_command(redis_env: dict[str, str], redis_server: Proc) -> None:
    """A refused commit (WRONGTYPE on a seen-bitmap) leaves the batch pending, not acked."""
    r = redis_server.client()
    r.lpush(CONTRACT.seen_prefix + "manual:0", "not a bitmap")
    r.xadd(STREAM, {"data": good(0)})
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1")
    try:
        w.wait(lambda: r.xpending(STREAM, GROUP)["pending"] == 1)
        time.sleep(0.5)
        assert r.xpending(STREAM, GROUP)["pending"] == 1, "acked although its side effects failed"
        r.delete(CONTRACT.seen_prefix + "manual:0")
        r.xadd(STREAM, {"data": good(1)})
        w.wait(lambda: r.getbit(CONTRACT.seen_prefix + "manual:0", 1) == 1)
    finally:
        w.stop()
    assert isinstance(r, redis.Redis)
