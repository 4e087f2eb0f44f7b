"""Detectors built from settings keep their state within TICKSTOCKPL_MAX_TICKERS (found by bench/mutation)."""

from __future__ import annotations

from tickstockpl.detectors import PriceMovement, VolumeSpike, build
from tickstockpl.settings import Settings
from tickstockpl.ticks import Tick


def tick(ticker: str, price: float = 100.0, volume: int = 100) -> Tick:
    return Tick("tick_data", ticker, price, volume, 1.7e9, "synthetic", "REGULAR")


def test_built_detectors_forget_the_least_recent_ticker_past_max_tickers() -> None:
    settings = Settings.from_env({"TICKSTOCKPL_MAX_TICKERS": "2", "TICKSTOCKPL_VOLUME_WINDOW": "2"})
    price, volume = build(("price_movement", "volume_spike"), settings)
    assert isinstance(price, PriceMovement) and isinstance(volume, VolumeSpike)
    for t in ("A", "A", "B", "C"):  # C pushes A, the least recently seen, out of both
        price.observe(tick(t))
        volume.observe(tick(t))
    # A starts afresh: no previous price, no volume history, so no event for a doubling.
    assert price.observe(tick("A", price=200.0)) is None
    assert volume.observe(tick("A", volume=10_000)) is None
    # C is still known to both (A's return pushed B out, not C).
    assert price.observe(tick("C", price=200.0)) is not None
    assert volume.observe(tick("C", volume=10_000)) is not None


def test_built_detectors_keep_every_ticker_within_max_tickers() -> None:
    settings = Settings.from_env({"TICKSTOCKPL_MAX_TICKERS": "3", "TICKSTOCKPL_VOLUME_WINDOW": "2"})
    price, volume = build(("price_movement", "volume_spike"), settings)
    for t in ("A", "B", "C"):
        price.observe(tick(t))
        volume.observe(tick(t))
    assert all(price.observe(tick(t, price=200.0)) is not None for t in ("A", "B", "C"))
    assert all(volume.observe(tick(t, volume=10_000)) is not None for t in ("A", "B", "C"))
