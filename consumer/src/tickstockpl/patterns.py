"""Pattern detectors and the pattern event they produce.

A detector sees ticks one at a time and keeps per-ticker state in memory.
Each (detector, tick) pair has a deterministic `pattern_id`; the event is
published at most once per id (see effects.py), so a redelivered tick never
yields a second event. Detector state is per process and not rebuilt on
redelivery: a tick redelivered to another consumer may be judged against a
different previous price. That can change *whether* an event fires for that
tick, never cause a second event for it.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import msgspec

from tickstockpl.settings import Settings
from tickstockpl.ticks import Tick


class PatternEvent(msgspec.Struct, gc=False):
    """The spec's pattern message, plus pattern_id and a little context."""

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


@dataclass(frozen=True, slots=True)
class Finding:
    pattern_type: str
    confidence: float
    direction: str


class Detector(Protocol):
    name: str

    def observe(self, tick: Tick) -> Finding | None: ...


class PriceMovement:
    """Fires when price moves >= threshold % from this ticker's previous tick."""

    name = "price_movement"

    def __init__(self, threshold_pct: float) -> None:
        self.threshold = threshold_pct / 100.0
        self._prev: dict[str, float] = {}

    def observe(self, tick: Tick) -> Finding | None:
        prev = self._prev.get(tick.ticker)
        self._prev[tick.ticker] = tick.price
        if not prev:
            return None
        move = (tick.price - prev) / prev
        if abs(move) < self.threshold:
            return None
        confidence = min(0.99, 0.5 + abs(move) / (self.threshold * 10))
        return Finding(self.name, round(confidence, 3), "up" if move > 0 else "down")


class _Window:
    __slots__ = ("total", "values")

    def __init__(self, size: int) -> None:
        self.values: deque[int] = deque(maxlen=size)
        self.total = 0


class VolumeSpike:
    """Fires when volume >= factor x the rolling mean of the last N ticks."""

    name = "volume_spike"

    def __init__(self, factor: float, window: int) -> None:
        self.factor = factor
        self.window = window
        self._windows: dict[str, _Window] = {}

    def observe(self, tick: Tick) -> Finding | None:
        w = self._windows.get(tick.ticker)
        if w is None:
            w = self._windows[tick.ticker] = _Window(self.window)
        values = w.values
        n = len(values)
        volume = tick.volume
        finding = None
        # Wait for half a window so the mean means something.
        if n * 2 >= self.window and w.total > 0 and volume * n >= self.factor * w.total:
            ratio = volume * n / w.total
            confidence = min(0.99, 0.5 + (ratio - self.factor) / (self.factor * 4))
            finding = Finding(self.name, round(confidence, 3), "up")
        if n == self.window:
            w.total -= values[0]  # deque(maxlen) drops it on append
        values.append(volume)
        w.total += volume
        return finding


DETECTORS = ("price_movement", "volume_spike")


def build_detectors(settings: Settings) -> list[Detector]:
    out: list[Detector] = []
    for name in settings.detectors:
        if name == "price_movement":
            out.append(PriceMovement(settings.price_move_pct))
        elif name == "volume_spike":
            out.append(VolumeSpike(settings.volume_spike_factor, settings.volume_window))
    return out


def pattern_id(detector: str, tick_id: str) -> str:
    return hashlib.blake2b(f"{detector}|{tick_id}".encode(), digest_size=12).hexdigest()


def make_event(tick: Tick, tick_id: str, finding: Finding, now: float) -> PatternEvent:
    return PatternEvent(
        event_type="pattern_detected",
        ticker=tick.ticker,
        pattern_type=finding.pattern_type,
        confidence=finding.confidence,
        timestamp=now,
        source="tickstock_pl",
        pattern_id=pattern_id(finding.pattern_type, tick_id),
        direction=finding.direction,
        tick_id=tick_id,
        tick_timestamp=tick.timestamp,
    )
