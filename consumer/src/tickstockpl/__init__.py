"""TickStockPL consumer: Sentinel-aware, at-least-once through failover."""

__version__ = "0.1.0"
