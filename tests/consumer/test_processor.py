"""processor.py: messages -> Batch, no I/O."""

from __future__ import annotations

import time

import pytest
from tickstockpl.detectors import Finding
from tickstockpl.effects import _ranges
from tickstockpl.patterns import pattern_id
from tickstockpl.processor import E2E_SAMPLES, Processor
from tickstockpl.settings import Settings
from tickstockpl.ticks import Tick, decode, tick_digest
from workers import good, spec_tick


class Broken:
    name = "broken"

    def observe(self, tick: Tick) -> Finding | None:
        raise RuntimeError("detector bug")


def test_batch_holds_valid_ticks_seen_seqs_patterns_and_dead_letters() -> None:
    p = Processor(Settings.from_env({"TICKSTOCKPL_DETECTORS": "price_movement"}))
    batch = p.process([
        (b"1-0", good(3, price=100.0)),
        (b"1-1", b"{nope"),
        (None, good(4, ticker="aapl")),
        (b"1-2", good(5, price=110.0)),
        (b"1-3", spec_tick(99.0, timestamp=1.7e9 + 9)),
    ])
    assert batch.valid == 3
    assert dict(batch.seen) == {"manual": [3, 5]}
    assert [(d[0], d[2], d[3]) for d in batch.dead] == [
        ("invalid_json", b"{nope", b"1-1"), ("invalid_tick", good(4, ticker="aapl"), b""),
    ]
    assert "ticker" in batch.dead[1][1]
    up, down = batch.patterns
    assert (up.pattern_type, up.direction, up.tick_id) == ("price_movement", "up", "manual:5")
    assert up.pattern_id == pattern_id("price_movement", "manual:5")
    assert up.tick_digest == tick_digest(decode(good(5, price=110.0)))
    digest = tick_digest(decode(spec_tick(99.0, timestamp=1.7e9 + 9)))
    assert (down.direction, down.tick_id, down.tick_digest) == ("down", "digest:" + digest, digest)
    assert down.tick_timestamp == 1.7e9 + 9 and down.ticker == "AAPL"
    assert abs(up.timestamp - time.time()) < 60 and up.timestamp == down.timestamp
    assert batch.tick_times == [1.7e9, 1.7e9, 1.7e9 + 9]


def test_a_failing_detector_dead_letters_the_tick_and_the_rest_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    p = Processor(Settings.from_env({"TICKSTOCKPL_DETECTORS": "none"}))
    p.detectors = [Broken()]
    batch = p.process([(b"2-0", good(0)), (None, good(1))])
    assert [(d[0], d[3]) for d in batch.dead] == [("detector_error", b"2-0"), ("detector_error", b"")]
    assert "detector bug" in batch.dead[0][1]
    assert batch.valid == 2 and batch.patterns == []
    failed = [r for r in caplog.records if r.getMessage() == "detector failed"]
    assert len(failed) == 2 and failed[0].ctx == {"detector": "broken"}  # type: ignore[attr-defined]
    assert failed[0].exc_info is not None


def test_end_to_end_samples_are_capped_per_batch() -> None:
    p = Processor(Settings.from_env({"TICKSTOCKPL_DETECTORS": "none"}))
    n = E2E_SAMPLES * 3 + 1
    batch = p.process((None, good(i, timestamp=1.7e9 + i)) for i in range(n))
    assert batch.valid == n
    assert len(batch.tick_times) <= E2E_SAMPLES + 1 and batch.tick_times[:2] == [1.7e9, 1.7e9 + 3]
    few = p.process((None, good(i, timestamp=1.7e9 + i)) for i in range(5))
    assert few.tick_times == [1.7e9 + i for i in range(5)]


def test_seen_seqs_are_sent_as_ranges() -> None:
    assert _ranges([9, 1, 2, 3, 7, 10, 3]) == b"1-3,7-7,9-10"
    assert _ranges([0, 2]) == b"0-0,2-2"
    assert _ranges([5]) == b"5-5"
