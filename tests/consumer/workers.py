"""In-process helpers: a Worker in a thread, tick builders, a pattern listener, a quick publish."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import redis
from servers import wait_until
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.publisher import Publisher
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker

STREAM, GROUP, DEAD_LETTER_STREAM = CONTRACT.stream, CONTRACT.group, CONTRACT.dead_letter_stream


class Running:
    """A Worker in a thread of this process, against real Redis (stream mode unless env says)."""

    def __init__(self, env: dict[str, str], **extra: str) -> None:
        # A short block: stopping takes at most that long.
        self.settings = Settings.from_env({"TICKSTOCKPL_BLOCK_MS": "100", **env, **extra})
        self.shutdown = Shutdown()
        self.consumer = Worker(self.settings, Connector(self.settings), self.shutdown)
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.exit_code = self.consumer.run()

    def wait(self, pred: Callable[[], bool], timeout: float = 15, what: str = "consumer") -> None:
        wait_until(pred, timeout, what)

    def stop(self) -> None:
        self.shutdown.request()
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.consumer.conn.close()
        assert self.exit_code == 0  # a requested stop is a clean exit: systemd must not restart it


def publish(env: dict[str, str], count: int, publisher: str = "pub1") -> None:
    settings = Settings.from_env(env)
    conn = Connector(settings, retry_budget=0)
    summary = Publisher(conn, settings, Shutdown(), publisher, ["AAPL", "MSFT"], 1e6, seed=1).run(count=count)
    assert summary.confirmed == count
    conn.close()


def good(seq: int, **changes: Any) -> bytes:
    tick = {
        "event_type": "tick_data", "ticker": "AAPL", "price": 100.0 + seq, "volume": 100,
        "timestamp": 1.7e9, "source": "synthetic", "market_status": "REGULAR",
        "publisher": "manual", "seq": seq,
    }
    tick.update(changes)
    return json.dumps(tick).encode()


def pattern_listener(r: redis.Redis) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """Collect every pattern event on the channel, from a real subscriber."""
    events: list[dict[str, Any]] = []
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(CONTRACT.channel_patterns)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            msg = ps.get_message(timeout=0.1)
            if msg:
                events.append(json.loads(msg["data"]))

    t = threading.Thread(target=loop, daemon=True)
    t.start()

    def done() -> None:
        stop.set()
        t.join(5)
        ps.close()

    return events, done


def spec_tick(price: float, timestamp: float = 1.7e9, **changes: Any) -> bytes:
    """A tick in the spec's bare format: no publisher, no seq."""
    tick = {
        "event_type": "tick_data", "ticker": "AAPL", "price": price, "volume": 100,
        "timestamp": timestamp, "source": "massive", "market_status": "REGULAR",
    }
    tick.update(changes)
    return json.dumps(tick).encode()


def duplicates_per_tick(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(tick_digest, pattern_type) pairs seen more than once."""
    seen: dict[tuple[str, str], int] = {}
    for e in events:
        key = (e["tick_digest"], e["pattern_type"])
        seen[key] = seen.get(key, 0) + 1
    return [k for k, n in seen.items() if n > 1]
