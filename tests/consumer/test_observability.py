"""Metrics follow Prometheus naming; every bad tick is logged, at a bounded rate."""

from __future__ import annotations

import logging
import time

import pytest
import redis
from prometheus_client import generate_latest
from tickstockpl.logs import Throttle
from tickstockpl.metrics import Metrics
from workers import DEAD_LETTER_STREAM, STREAM, Running


def test_counters_end_in_total_and_process_metrics_are_exported() -> None:
    m = Metrics()
    m.count_connection(reconnects=2, failovers=1)
    m.count_connection(reconnects=3, failovers=1)
    text = generate_latest(m.registry).decode()
    assert "# TYPE tickstockpl_reconnects_total counter" in text
    assert "tickstockpl_reconnects_total 3.0" in text
    assert "tickstockpl_failovers_seen_total 1.0" in text
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
                 "python_info"):
        assert f"\n{name}" in text, name
    for line in text.splitlines():
        if line.startswith("# TYPE tickstockpl_") and line.endswith(" counter"):
            assert line.split()[2].endswith("_total"), line


def test_throttle_lets_a_burst_through_then_the_rate() -> None:
    now = [0.0]
    t = Throttle(rate=5, burst=20, clock=lambda: now[0])
    assert sum(t.allow() for _ in range(100)) == 20
    assert t.take_dropped() == 80 and t.take_dropped() == 0
    now[0] += 1.0
    assert sum(t.allow() for _ in range(100)) == 5


def test_each_bad_tick_is_logged_with_reason_and_entry_id_rate_limited(
    redis_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    r = redis.Redis(port=int(redis_env["REDIS_PORT"]))
    ids = [r.xadd(STREAM, {"data": b"not json %d" % i}) for i in range(200)]
    caplog.set_level(logging.WARNING, logger="tickstockpl.effects")
    w = Running(redis_env)
    try:
        w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 200)
        time.sleep(1.0)  # tokens for one more line
        late = r.xadd(STREAM, {"data": b"{}"})
        w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 201)
    finally:
        w.stop()
    lines = [getattr(x, "ctx", {}) for x in caplog.records if x.getMessage() == "bad tick dead-lettered"]
    # 200 bad ticks at once: the burst (20) and what the rate refilled meanwhile, not 200 lines.
    assert 20 <= len(lines) < 40, len(lines)
    first = lines[0]
    assert first["reason"] == "invalid_json" and first["entry_id"] == ids[0].decode()
    assert lines[-1]["entry_id"] == late.decode() and lines[-1]["reason"] == "invalid_tick"
    assert sum(x["suppressed_before"] for x in lines) == 201 - len(lines)
