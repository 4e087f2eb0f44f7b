"""Detectors and pattern ids (pure logic; the Redis side is in test_stream)."""

from __future__ import annotations

import re

from tickstockpl.detectors import REGISTRY, PriceMovement, VolumeSpike, build
from tickstockpl.patterns import make_event, pattern_id
from tickstockpl.settings import Settings
from tickstockpl.ticks import Tick, tick_digest


def tick(price: float, volume: int = 100, ticker: str = "AAPL", seq: int = 0) -> Tick:
    return Tick("tick_data", ticker, price, volume, 1.7e9, "synthetic", "REGULAR", "p", seq)


def test_price_movement_threshold_per_ticker() -> None:
    d = PriceMovement(1.0)
    assert d.observe(tick(100.0)) is None  # no previous price
    assert d.observe(tick(100.5)) is None  # 0.5 %
    up = d.observe(tick(102.0))
    assert up is not None and up.direction == "up" and 0.5 <= up.confidence <= 0.99
    assert d.observe(tick(50.0, ticker="MSFT")) is None  # other ticker has its own history
    down = d.observe(tick(100.0))
    assert down is not None and down.direction == "down"


def test_volume_spike_vs_rolling_mean() -> None:
    d = VolumeSpike(3.0, 10)
    assert all(d.observe(tick(1, 100)) is None for _ in range(10))
    assert d.observe(tick(1, 250)) is None
    spike = d.observe(tick(1, 400))
    assert spike is not None and spike.pattern_type == "volume_spike"
    assert d.observe(tick(1, 400, ticker="MSFT")) is None  # no history yet for MSFT


def test_pattern_id_is_deterministic_and_distinct() -> None:
    assert pattern_id("price_movement", "p:1") == pattern_id("price_movement", "p:1")
    assert pattern_id("price_movement", "p:1") != pattern_id("volume_spike", "p:1")
    assert pattern_id("price_movement", "p:1") != pattern_id("price_movement", "p:2")
    d = PriceMovement(1.0)
    d.observe(tick(100.0))
    finding = d.observe(tick(110.0, seq=1))
    assert finding is not None
    event = make_event(tick(110.0, seq=1), "p:1", finding, 1.0)
    assert event.event_type == "pattern_detected" and event.source == "tickstock_pl"
    assert event.pattern_id == pattern_id("price_movement", "p:1")
    assert event.tick_id == "p:1" and event.tick_digest == tick_digest(tick(110.0, seq=1))
    assert (event.confidence, event.timestamp, event.direction) == (finding.confidence, 1.0, "up")
    assert (event.ticker, event.pattern_type, event.tick_timestamp) == ("AAPL", "price_movement", 1.7e9)
    assert re.fullmatch(r"[0-9a-f]{24}", event.pattern_id)
    assert make_event(tick(110.0, seq=1), "p:1", finding, 1.0, "given").tick_digest == "given"


def test_registry_is_the_one_list_of_detectors() -> None:
    assert list(REGISTRY) == ["price_movement", "volume_spike"]
    assert Settings.from_env({}).detectors == tuple(REGISTRY)
    settings = Settings.from_env({"TICKSTOCKPL_PRICE_MOVE_PCT": "2.5", "TICKSTOCKPL_VOLUME_WINDOW": "7"})
    built = build(tuple(REGISTRY), settings)
    assert [d.name for d in built] == list(REGISTRY)
    price, volume = built
    assert isinstance(price, PriceMovement) and price.threshold == 0.025
    assert isinstance(volume, VolumeSpike) and volume.window == 7 and volume.factor == 3.0
    assert build((), settings) == []


def fires(d: PriceMovement | VolumeSpike, *values: float) -> list[tuple[float, str] | None]:
    """Feed one ticker; (confidence, direction) per tick, or None."""
    out: list[tuple[float, str] | None] = []
    for v in values:
        f = d.observe(tick(v, 100) if isinstance(d, PriceMovement) else tick(1.0, int(v)))
        out.append(None if f is None else (f.confidence, f.direction))
    return out


def test_price_movement_boundary_and_confidence() -> None:
    assert fires(PriceMovement(1.0), 100, 101)[1] == (0.6, "up")  # exactly the threshold fires
    assert fires(PriceMovement(1.0), 100, 100.99)[1] is None
    assert fires(PriceMovement(1.0), 100, 102)[1] == (0.7, "up")  # 0.5 + move / (10 x threshold)
    assert fires(PriceMovement(1.0), 100, 101.2345)[1] == (0.623, "up")  # rounded to 3 places
    assert fires(PriceMovement(1.0), 100, 200)[1] == (0.99, "up")  # capped
    assert fires(PriceMovement(2.0), 100, 96)[1] == (0.7, "down")


def test_volume_spike_boundaries_and_confidence() -> None:
    assert fires(VolumeSpike(3.0, 10), 100, 100, 100, 100, 300)[4] is None  # 4 of 10: under half a window
    assert fires(VolumeSpike(3.0, 10), 100, 100, 100, 100, 100, 300)[5] == (0.5, "up")  # half, exactly 3x
    assert fires(VolumeSpike(3.0, 10), 100, 100, 100, 100, 100, 299)[5] is None
    assert fires(VolumeSpike(3.0, 10), 100, 100, 100, 100, 100, 600)[5] == (0.75, "up")  # 0.5 + (6-3)/12
    assert fires(VolumeSpike(3.0, 10), 100, 100, 100, 100, 100, 350)[5] == (0.542, "up")
    assert fires(VolumeSpike(3.0, 10), 100, 100, 100, 100, 100, 10**6)[5] == (0.99, "up")
    assert fires(VolumeSpike(3.0, 10), 0, 0, 0, 0, 0, 0, 50)[5:] == [None, None]  # no mean yet, no division
    assert fires(VolumeSpike(3.0, 10), 1, 0, 0, 0, 0, 1)[5] is not None  # a mean of 0.2


def test_volume_window_rolls() -> None:
    # Window 4 holds 20, 30, 40, 5 after the fifth tick: mean 23.75, so 2x is 47.5.
    assert fires(VolumeSpike(2.0, 4), 10, 20, 30, 40, 5, 47)[5] is None
    assert fires(VolumeSpike(2.0, 4), 10, 20, 30, 40, 5, 48)[5] == (0.503, "up")


def test_state_is_kept_for_at_most_max_tickers_least_recently_seen_dropped() -> None:
    d = PriceMovement(1.0, max_tickers=2)
    d.observe(tick(100.0, ticker="A"))
    d.observe(tick(100.0, ticker="B"))
    d.observe(tick(100.0, ticker="A"))  # A is now the most recent
    d.observe(tick(100.0, ticker="C"))  # drops B
    assert len(d._prev) == 2
    assert d.observe(tick(200.0, ticker="A")) is not None  # A kept its price
    assert d.observe(tick(200.0, ticker="B")) is None  # B starts afresh
    v = VolumeSpike(3.0, 2, max_tickers=3)
    for i in range(100):
        v.observe(tick(1, 100, ticker=f"T{i}"))
    assert list(v._windows) == ["T97", "T98", "T99"]
