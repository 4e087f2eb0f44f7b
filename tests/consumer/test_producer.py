"""producer.py (confirmed writes) and the spec-format publisher with its audit, on real Redis."""

from __future__ import annotations

import json
import time
from pathlib import Path

import msgspec
import pytest
from servers import Proc
from test_cli import run_cli
from tickstockpl.contract import CONTRACT
from tickstockpl.producer import NotConfirmed, TickProducer
from tickstockpl.settings import Settings
from tickstockpl.ticks import decode
from workers import Running, pattern_listener

TICK = {"event_type": "tick_data", "ticker": "MSFT", "price": 10.0, "volume": 5,
        "timestamp": 1.7e9, "source": "tickstock_pl", "market_status": "PRE"}


def test_send_stamps_publisher_and_seq_and_writes_stream_and_channels(redis_server: Proc) -> None:
    r = redis_server.client()
    r.flushall()
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(CONTRACT.channel_all_ticks, CONTRACT.ticker_channel("MSFT"))
    producer = TickProducer(r, "tick-a", wait_replicas=0, first_seq=7)
    assert producer.send([TICK, {**TICK, "price": 11.0}]) == 1
    ticks = [decode(f) for _id, f in r.xrange(CONTRACT.stream)]  # the packed form
    assert [(t.publisher, t.seq, t.price) for t in ticks] == [("tick-a", 7, 10.0), ("tick-a", 8, 11.0)]
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 4 and time.monotonic() < deadline:
        msg = ps.get_message(timeout=0.5)  # None also for the (ignored) subscribe replies
        if msg is not None:
            got.append((msg["channel"], decode(msg["data"]).seq))
    ps.close()
    channels = (CONTRACT.channel_all_ticks.encode(), CONTRACT.ticker_channel("MSFT").encode())
    assert sorted(got) == sorted((ch, seq) for ch in channels for seq in (7, 8))
    with pytest.raises(msgspec.ValidationError):
        producer.stamp({**TICK, "ticker": "msft"})


def test_unconfirmed_write_is_resent_as_is_then_reported(redis_server: Proc) -> None:
    """WAIT cannot be met on a lone server: every try re-sends the same bytes, same seq."""
    r = redis_server.client()
    r.flushall()
    producer = TickProducer(r, "tick-b", wait_replicas=1, wait_timeout_ms=1, retry_for_s=0.2,
                            publish_channels=False)
    with pytest.raises(NotConfirmed) as err:
        producer.send([TICK])
    assert err.value.seqs == [0] and err.value.tries >= 2 and "WAIT" in str(err.value.last_error)
    copies = {tuple(f.items()) for _id, f in r.xrange(CONTRACT.stream)}
    assert r.xlen(CONTRACT.stream) == err.value.tries and len(copies) == 1  # one tick, sent n times
    assert producer.next_seq == 1  # a seq is never reused for another tick
    producer.wait_replicas = 0
    producer.send([TICK])
    assert decode(r.xrange(CONTRACT.stream, "-", "+")[-1][1]).seq == 1


def test_from_settings_follows_settings(redis_server: Proc) -> None:
    s = Settings.from_env({"TICKSTOCKPL_STREAM": "other", "TICKSTOCKPL_WAIT_TIMEOUT_MS": "7",
                           "TICKSTOCKPL_STREAM_MAX_AGE": "60"})
    p = TickProducer.from_settings(redis_server.client(), s, None, retry_for_s=None)
    assert (p.stream, p.wait_timeout_ms, p.wait_replicas, p.retry_for_s, p.max_age_s) == ("other", 7, 0, None, 60)


def test_spec_format_run_audits_duplicates_per_tick_and_needs_patterns(
    redis_env: dict[str, str], redis_server: Proc, tmp_path: Path
) -> None:
    r = redis_server.client()
    events, done = pattern_listener(r)
    summary = tmp_path / "s.json"
    pub = run_cli(["publish", "--spec-format", "--count", "3000", "--rate", "100000", "--publisher-id", "spec1",
                   "--summary-json", str(summary), "--seed", "2"], redis_env)
    assert pub.returncode == 0, pub.stderr
    assert json.loads(summary.read_text())["spec_format"] is True
    entries = [f for _id, f in r.xrange(CONTRACT.stream)]
    assert len(entries) == 3000 and all(b"publisher" not in f and b"seq" not in f for f in entries)
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_PRICE_MOVE_PCT="0.5")
    w.wait(lambda: w.consumer.processed == 3000)
    w.stop()
    done()
    log = tmp_path / "p.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    ok = run_cli(["audit", "--summary-json", str(summary), "--patterns-log", str(log)], redis_env)
    verdict = json.loads(ok.stdout)
    assert ok.returncode == 0, verdict
    assert verdict["loss_checked"] is False and verdict["lost"] is None
    assert verdict["patterns_seen"] == len(events) > 0 and verdict["duplicated_tick_patterns"] == 0

    # The same tick under two pattern_ids (an identity that changed on re-send) is a duplicate.
    twice = {**events[0], "pattern_id": "another-id"}
    log.write_text(json.dumps(events[0]) + "\n" + json.dumps(twice) + "\n")
    bad = json.loads(run_cli(["audit", "--summary-json", str(summary), "--patterns-log", str(log)], redis_env).stdout)
    assert (bad["ok"], bad["duplicated_patterns"], bad["duplicated_tick_patterns"]) == (False, 0, 1)
    assert bad["failures"] == ["duplicated_patterns"]

    # A watcher that recorded nothing proves nothing.
    log.write_text("")
    empty = run_cli(["audit", "--summary-json", str(summary), "--patterns-log", str(log)], redis_env)
    verdict = json.loads(empty.stdout)
    assert empty.returncode == 1 and verdict["failures"] == ["too_few_patterns"] and verdict["patterns_seen"] == 0
    relaxed = run_cli(["audit", "--summary-json", str(summary), "--patterns-log", str(log), "--min-patterns", "0"],
                      redis_env)
    assert relaxed.returncode == 0
