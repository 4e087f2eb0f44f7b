"""The pattern event and its id.

Each (detector, tick) pair has a deterministic `pattern_id`, from the
detector's name and the tick's identity (ticks.tick_identity); the event is
published at most once per id (see effects.py), so a redelivered or re-sent
tick never yields a second event. The detectors are in detectors.py.
"""

from __future__ import annotations

import hashlib

import msgspec

from tickstockpl.detectors import Finding
from tickstockpl.ticks import Tick, tick_digest

EVENT_TYPE = "pattern_detected"
SOURCE = "tickstock_pl"  # who sends pattern events, as the tick `source` names us


class PatternEvent(msgspec.Struct, gc=False):
    """A pattern event as docs/interface.md describes it."""

    event_type: str
    ticker: str
    pattern_type: str
    confidence: float
    timestamp: float
    source: str
    pattern_id: str
    direction: str
    tick_id: str
    tick_timestamp: float
    # The tick's content digest whatever its identity: audits count duplicates
    # per (tick_digest, pattern_type) without trusting tick_id.
    tick_digest: str


def pattern_id(detector: str, tick_id: str) -> str:
    return hashlib.blake2b(f"{detector}|{tick_id}".encode(), digest_size=12).hexdigest()


def make_event(tick: Tick, tick_id: str, finding: Finding, now: float, digest: str | None = None) -> PatternEvent:
    """tick_id: ticks.tick_identity(tick); digest: ticks.tick_digest(tick), computed if not given."""
    return PatternEvent(
        event_type=EVENT_TYPE,
        ticker=tick.ticker,
        pattern_type=finding.pattern_type,
        confidence=finding.confidence,
        timestamp=now,
        source=SOURCE,
        pattern_id=pattern_id(finding.pattern_type, tick_id),
        direction=finding.direction,
        tick_id=tick_id,
        tick_timestamp=tick.timestamp,
        tick_digest=tick_digest(tick) if digest is None else digest,
    )
