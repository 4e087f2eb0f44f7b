"""A pub/sub consumer follows Sentinel's announcement, not its next failing write.

The partition drill's shape on real processes: the old master stays up and
keeps the consumer's subscription open (CLIENT PAUSE: no crash, no error, no
reset), but the publishers move to the new master. Nothing makes the consumer
write meanwhile (no tick reaches it), so only Sentinel can tell it to move:
its `+switch-master`, or, when the consumer cannot hold a subscription to
Sentinel, its answer to a query asked about once a second.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from conftest import Cluster
from servers import MASTER_NAME, Proc, wait_until
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.pubsub import PubSubSource
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.watch import watch_patterns
from tickstockpl.worker import Worker

# The consumer's move after Sentinel names the new master: the pub/sub read in
# hand (TICKSTOCKPL_BLOCK_MS, 1 s, the default), a Sentinel query (0.5 s more
# when the first Sentinel asked is cut off) and a resubscribe: 0.3-1.6 s
# measured. Without the move it waits for a failing write, which never comes.
FOLLOW_BOUND_S = 3.0
PAUSE_MS = 60_000  # the old master answers nobody for longer than the test can take


def tick(price: float) -> bytes:
    return json.dumps({
        "event_type": "tick_data", "ticker": "AAPL", "price": price, "volume": 5, "timestamp": time.time(),
        "source": "massive", "market_status": "REGULAR",
    }).encode()


class SwitchListener:
    """Records when a Sentinel the consumer does not use says +switch-master."""

    def __init__(self, sentinel: Proc) -> None:
        self._pubsub = sentinel.client().pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self._pubsub.subscribe("+switch-master")
        self.at: float | None = None
        self.new_port: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._pubsub.get_message(timeout=0.05)
            if msg is not None and self.at is None:
                name, _old_ip, _old_port, _ip, port = msg["data"].decode().split()
                if name == MASTER_NAME:
                    self.new_port = int(port)
                    self.at = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._pubsub.close()


@contextmanager
def consumer(env: dict[str, str]) -> Iterator[Worker]:
    """A pub/sub Worker in a thread, with the default 1 s read block (as in the lab)."""
    settings = Settings.from_env({**env, "TICKSTOCKPL_MODE": "pubsub", "TICKSTOCKPL_DETECTORS": "none",
                                  "TICKSTOCKPL_CONSUMER_ID": "follow"})
    shutdown = Shutdown()
    worker = Worker(settings, Connector(settings), shutdown)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: worker.state.group_ready, 10, "subscribed")
        yield worker
    finally:
        shutdown.request()
        thread.join(10)
        worker.conn.close()
    assert not thread.is_alive()


def first_tick_on(worker: Worker, old: Proc, listener: SwitchListener, pause_at: float) -> float:
    """Publish on the new master until the consumer has one tick; seconds after +switch-master."""
    wait_until(lambda: listener.at is not None, 30, "+switch-master", step=0.02)
    assert listener.at is not None and listener.new_port is not None
    assert listener.new_port != old.port
    new = redis.Redis(port=listener.new_port, socket_timeout=5)
    done = worker.processed
    deadline = listener.at + 12.0
    price = 20.0
    while worker.processed == done and time.monotonic() < deadline:
        new.publish(CONTRACT.channel_all_ticks, tick(price))
        price += 0.01
        time.sleep(0.02)
    after_switch = time.monotonic() - listener.at
    print(f"failover {listener.at - pause_at:.2f} s after the pause; "
          f"first tick from the new master {after_switch:.2f} s after +switch-master")
    assert worker.processed > done, (
        f"no tick from the new master {after_switch:.1f} s after +switch-master: "
        "the consumer is still subscribed on the old master")
    assert after_switch < FOLLOW_BOUND_S, after_switch
    # The move is a lost subscription, counted and logged as one today.
    assert isinstance(worker.source, PubSubSource)
    wait_until(lambda: worker.source.lost_subscriptions == 1, 2, "gap counted")  # type: ignore[attr-defined]
    get = worker.metrics.registry.get_sample_value
    assert get("tickstockpl_pubsub_gaps_total", {"cause": "reconnect"}) == 1
    return after_switch


def isolate(master: Proc) -> None:
    """The old master stays up and keeps its clients, answering none of them (until the fixture kills it)."""
    master.client().execute_command("CLIENT", "PAUSE", str(PAUSE_MS), "ALL")


def receiving(worker: Worker, master: Proc) -> None:
    """Ticks reach the consumer, and it has committed every one sent (none is in hand at the pause)."""
    r = master.client()
    done = worker.processed
    sent = 0

    def one_through() -> bool:
        nonlocal sent
        sent += 1 if r.publish(CONTRACT.channel_all_ticks, tick(10.0)) >= 1 else 0
        return worker.processed > done

    wait_until(one_through, 10, "a tick on the first master")
    # A tick still in hand would commit on the paused master, fail and be retried
    # on the new one: a reconnect the test must not blame on the move.
    wait_until(lambda: worker.processed == done + sent, 10, "every tick sent committed")


def test_pubsub_moves_on_switch_master_without_a_write(small_cluster: Cluster) -> None:
    c = small_cluster
    listener = SwitchListener(c.sentinels[0])
    try:
        with consumer(c.env()) as worker:
            receiving(worker, c.master)
            recovered_before = worker.conn.reconnects
            pause_at = time.monotonic()
            isolate(c.master)
            first_tick_on(worker, c.master, listener, pause_at)
            assert worker.conn.reconnects == recovered_before, "moved after a failing call, not on Sentinel's word"
            assert worker.conn.failovers == 1
    finally:
        listener.close()


def test_pubsub_follows_by_asking_sentinel_when_it_may_not_subscribe(small_cluster: Cluster) -> None:
    """The fallback: a Sentinel user without the +switch-master channel; the consumer asks about once a second."""
    c = small_cluster
    sentinel = c.sentinels[0].client()
    sentinel.execute_command(
        "ACL", "SETUSER", "nochannels", "on", ">pw", "resetchannels", "-@all", "+ping", "+client|setname",
        "+sentinel|get-master-addr-by-name", "+sentinel|masters", "+sentinel|master", "+subscribe",
    )
    env = {**c.env(), "REDIS_SENTINEL_USERNAME": "nochannels", "REDIS_SENTINEL_PASSWORD": "pw"}
    listener = SwitchListener(c.sentinels[0])
    try:
        with consumer(env) as worker:
            receiving(worker, c.master)
            assert len(sentinel.client_list(_type="pubsub")) == 1, "only the listener may subscribe"
            pause_at = time.monotonic()
            isolate(c.master)
            first_tick_on(worker, c.master, listener, pause_at)
    finally:
        listener.close()


def subscribed_sentinel(c: Cluster) -> Proc:
    """The Sentinel holding the consumer's +switch-master subscription."""
    found: list[Proc] = []

    def one() -> bool:
        found[:] = [s for s in c.sentinels if s.client().client_list(_type="pubsub")]
        return len(found) == 1

    wait_until(one, 5, "the consumer's subscription to a Sentinel")
    return found[0]


def test_pubsub_follows_when_its_sentinel_goes_silent(cluster: Cluster) -> None:
    """As in the partition drill, the Sentinel the consumer listens to is cut off too (stopped: no reset)."""
    c = cluster
    with consumer(c.env()) as worker:
        receiving(worker, c.master)
        deaf = subscribed_sentinel(c)
        other = next(s for s in c.sentinels if s is not deaf)
        listener = SwitchListener(other)
        try:
            pause_at = time.monotonic()
            os.kill(deaf.popen.pid, signal.SIGSTOP)
            isolate(c.master)
            first_tick_on(worker, c.master, listener, pause_at)
        finally:
            listener.close()
            os.kill(deaf.popen.pid, signal.SIGCONT)


def test_pattern_watch_moves_on_switch_master(small_cluster: Cluster, tmp_path: Path) -> None:
    """`watch-patterns` listens only, too: the drills' duplicate count must not go deaf with the old master."""
    c = small_cluster
    out = tmp_path / "patterns.jsonl"
    listener = SwitchListener(c.sentinels[0])
    shutdown = Shutdown()
    conn = Connector(Settings.from_env(c.env()))
    thread = threading.Thread(target=watch_patterns, args=(conn, shutdown, str(out)), daemon=True)
    thread.start()
    try:
        def lines() -> int:
            return out.read_bytes().count(b"\n") if out.exists() else 0

        wait_until(lambda: c.master.client().publish(CONTRACT.channel_patterns, b'{"n": 1}') == 1, 10, "subscribed")
        wait_until(lambda: lines() > 0, 5, "the first event written")
        before = lines()
        isolate(c.master)
        wait_until(lambda: listener.at is not None, 30, "+switch-master", step=0.02)
        assert listener.at is not None and listener.new_port is not None
        new = redis.Redis(port=listener.new_port, socket_timeout=5)
        while lines() == before and time.monotonic() < listener.at + 12.0:
            new.publish(CONTRACT.channel_patterns, b'{"n": 2}')
            time.sleep(0.02)
        after_switch = time.monotonic() - listener.at
        print(f"pattern watch: first event from the new master {after_switch:.2f} s after +switch-master")
        assert lines() > before, "the pattern watch is still subscribed on the old master"
        assert after_switch < FOLLOW_BOUND_S, after_switch
    finally:
        shutdown.request()
        thread.join(10)
        conn.close()
        listener.close()
    assert not thread.is_alive()
