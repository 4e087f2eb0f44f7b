"""Pattern detectors and their registry. A leaf module: it imports only ticks.

A detector sees ticks one at a time and keeps per-ticker state in memory,
for at most TICKSTOCKPL_MAX_TICKERS tickers: past that the least recently
seen ticker is forgotten (its next tick starts afresh), so a producer
inventing tickers cannot grow the process without bound.
Its name is written once, as the class attribute `name`; REGISTRY maps each
name to its class, and settings (TICKSTOCKPL_DETECTORS) and the default list
both come from REGISTRY. Detector state is per process and not rebuilt on
redelivery: a tick redelivered to another consumer may be judged against a
different previous price. That can change *whether* an event fires for that
tick, never cause a second event for it (see patterns.py).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol

from tickstockpl.ticks import Tick


@dataclass(frozen=True, slots=True)
class Finding:
    pattern_type: str
    confidence: float
    direction: str


class DetectorParams(Protocol):
    """What detectors read from Settings (a Protocol, so this module needs no import of it)."""

    @property
    def price_move_pct(self) -> float: ...
    @property
    def volume_spike_factor(self) -> float: ...
    @property
    def volume_window(self) -> int: ...
    @property
    def max_tickers(self) -> int: ...


class Detector(Protocol):
    name: str

    def observe(self, tick: Tick) -> Finding | None: ...


class PriceMovement:
    """Fires when price moves >= threshold % from this ticker's previous tick."""

    name = "price_movement"

    def __init__(self, threshold_pct: float, max_tickers: int = 50_000) -> None:
        self.threshold = threshold_pct / 100.0
        self.max_tickers = max_tickers
        # In order of last tick, the oldest first. OrderedDict: a dict's first key is
        # found by scanning past deleted slots, quadratic under ticker churn.
        self._prev: OrderedDict[str, float] = OrderedDict()

    @classmethod
    def build(cls, p: DetectorParams) -> PriceMovement:
        return cls(p.price_move_pct, p.max_tickers)

    def observe(self, tick: Tick) -> Finding | None:
        state = self._prev
        prev = state.get(tick.ticker)
        if prev is not None:
            state.move_to_end(tick.ticker)
        elif len(state) >= self.max_tickers:
            state.popitem(last=False)
        state[tick.ticker] = tick.price
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

    def __init__(self, factor: float, window: int, max_tickers: int = 50_000) -> None:
        self.factor = factor
        self.window = window
        self.max_tickers = max_tickers
        self._windows: OrderedDict[str, _Window] = OrderedDict()  # as PriceMovement._prev

    @classmethod
    def build(cls, p: DetectorParams) -> VolumeSpike:
        return cls(p.volume_spike_factor, p.volume_window, p.max_tickers)

    def observe(self, tick: Tick) -> Finding | None:
        windows = self._windows
        w = windows.get(tick.ticker)
        if w is not None:
            windows.move_to_end(tick.ticker)
        else:
            if len(windows) >= self.max_tickers:
                windows.popitem(last=False)
            w = windows[tick.ticker] = _Window(self.window)
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


class _Builder(Protocol):
    name: str

    def build(self, p: DetectorParams) -> Detector: ...


# Every detector, by name, in the order they run. Adding one here is all it takes.
REGISTRY: dict[str, _Builder] = {d.name: d for d in (PriceMovement, VolumeSpike)}


def build(names: tuple[str, ...], params: DetectorParams) -> list[Detector]:
    return [REGISTRY[name].build(params) for name in names]
