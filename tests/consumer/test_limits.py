"""Sizes: entries and messages over the limit are dead-lettered unread, memory stays bounded."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis
from servers import TICKSTOCKPL, Proc, subprocess_env, wait_until
from tickstockpl.settings import Settings
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good

MEMORY_MAX = 512 << 20  # the consumer unit's MemoryMax=512M
MB10 = 10 * 1000 * 1000


def vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def dead_letters(r: redis.Redis) -> list[dict[bytes, bytes]]:
    return [fields for _id, fields in r.xrange(DEAD_LETTER_STREAM)]


def test_hundred_entries_of_10_mb_are_dead_lettered_without_restart_under_memory_max(own_redis: Proc) -> None:
    server = own_redis
    r = server.client()
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port), "TICKSTOCKPL_HTTP_PORT": "0",
           "TICKSTOCKPL_CONSUMER_ID": "c1", "TICKSTOCKPL_LOG_LEVEL": "INFO"}
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    # A valid tick padded with an unknown 10 MB field: it used to be accepted.
    big = good(0, pad="x" * MB10)
    for _ in range(100):
        r.xadd(STREAM, {"data": big})
    r.xadd(STREAM, {"data": good(1)})
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.monotonic()
    try:
        wait_until(lambda: r.xlen(DEAD_LETTER_STREAM) >= 100 and r.xpending(STREAM, GROUP)["pending"] == 0
                   and r.xinfo_groups(STREAM)[0]["lag"] == 0, 120, "all entries handled", step=0.2)
        took = time.monotonic() - started
        assert proc.poll() is None, "the consumer must not die (no restart)"
        peak = vm(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"100 x 10 MB: handled in {took:.1f} s, consumer peak RSS {peak / 2**20:.0f} MiB")
    assert proc.returncode == 0, err[-2000:]
    assert peak < MEMORY_MAX, f"peak RSS {peak / 2**20:.0f} MiB"
    letters = dead_letters(r)
    assert len(letters) == 100 and {d[b"reason"] for d in letters} == {b"too_large"}
    assert all(len(d[b"payload"]) <= 2048 and big.startswith(d[b"payload"]) for d in letters)
    assert all(str(len(big) + 4).encode() in d[b"detail"] for d in letters)  # the size, measured
    assert r.xlen(STREAM) == 101  # nothing lost: the valid tick after them was processed, see below
    assert any(json.loads(line).get("msg") == "stream consumer stopped" and json.loads(line)["processed"] == 1
               for line in err.decode().splitlines() if line.startswith("{"))


def test_entry_over_the_limit_and_one_just_under(redis_env: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tickstockpl.stream")
    r = redis.Redis(port=int(redis_env["REDIS_PORT"]))
    under = good(1, pad="y" * 60_000)  # a tick with an unknown field: fine while small
    over = good(2, pad="z" * 70_000)
    w = Running(redis_env, TICKSTOCKPL_READ_BUDGET_BYTES=str(1 << 20))
    try:
        r.xadd(STREAM, {"data": under})
        r.xadd(STREAM, {"data": over})
        r.xadd(STREAM, {"data": b"{}", "extra": b"e" * 70_000})  # counted over all fields
        w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 2 and w.consumer.processed == 1)
        # Alone over the read budget: dropped unread, then measured on the server.
        r.xadd(STREAM, {"data": good(3, pad="b" * 3_000_000)})
        # A producer's field named like a marker means nothing.
        r.xadd(STREAM, {"data": good(4), "__too_large__": b"x"})
        w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 3 and w.consumer.processed == 2
               and r.xpending(STREAM, GROUP)["pending"] == 0)
    finally:
        w.stop()
    letters = dead_letters(r)
    assert [d[b"reason"] for d in letters] == [b"too_large"] * 3
    assert letters[0][b"payload"] == over[:2048]
    assert b"3000" in letters[2][b"detail"] and len(letters[2][b"payload"]) == 2048
    outgrew = [rec.ctx for rec in caplog.records  # type: ignore[attr-defined]
               if rec.getMessage() == "a read outgrew the read budget; re-reading it entry by entry"]
    assert outgrew and all(c["budget_bytes"] == 1 << 20 and c["count"] >= 1 for c in outgrew)


def test_dead_letter_stream_is_bounded_in_bytes(redis_env: dict[str, str]) -> None:
    env = {**redis_env, "TICKSTOCKPL_DEAD_LETTER_MAX_BYTES": str(1 << 20),
           "TICKSTOCKPL_DEAD_LETTER_PAYLOAD_BYTES": "1024"}
    assert Settings.from_env(env).dead_letter_cap == (1 << 20) // 2048
    r = redis.Redis(port=int(redis_env["REDIS_PORT"]))
    bad = b"not json " + b"q" * 30_000
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    pipe = r.pipeline(transaction=False)
    for _ in range(3000):
        pipe.xadd(STREAM, {"data": bad})
    pipe.execute()
    w = Running(env)
    try:
        w.wait(lambda: r.xinfo_groups(STREAM)[0]["lag"] == 0 and r.xpending(STREAM, GROUP)["pending"] == 0, 60)
    finally:
        w.stop()
    used = r.memory_usage(DEAD_LETTER_STREAM) or 0
    print(f"dead-letter stream after 3000 x 30 KB: {r.xlen(DEAD_LETTER_STREAM)} entries, {used} bytes")
    assert r.xlen(DEAD_LETTER_STREAM) <= 512 + 100  # MAXLEN ~ trims whole nodes
    assert used < 2 << 20, used  # 90 MB of payloads went in


def test_pubsub_message_over_the_limit_and_over_the_read_budget(redis_env: dict[str, str]) -> None:
    from tickstockpl.contract import CONTRACT

    r = redis.Redis(port=int(redis_env["REDIS_PORT"]))
    w = Running(redis_env, TICKSTOCKPL_MODE="pubsub", TICKSTOCKPL_READ_BUDGET_BYTES=str(1 << 20))
    try:
        w.wait(lambda: w.consumer.source.ready and r.pubsub_numsub(CONTRACT.channel_all_ticks)[0][1] == 1)
        r.publish(CONTRACT.channel_all_ticks, good(1, pad="p" * 100_000))  # over the limit
        r.publish(CONTRACT.channel_all_ticks, good(2, pad="p" * 3_000_000))  # over the read budget too
        w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 2)
        # It resubscribed after dropping the connection, and goes on.
        w.wait(lambda: r.pubsub_numsub(CONTRACT.channel_all_ticks)[0][1] == 1)
        r.publish(CONTRACT.channel_all_ticks, good(3))
        w.wait(lambda: w.consumer.processed == 1)
    finally:
        w.stop()
    assert [d[b"reason"] for d in dead_letters(r)] == [b"too_large", b"too_large"]
