"""The TickStock <-> TickStockPL contract, read from contract.toml.

contract.toml is shared with Ansible (plugins/vars); this module is the only
place in the package that reads it, and no other module writes one of its
values as a literal.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from importlib.resources import files
from typing import Any


@dataclass(frozen=True, slots=True)
class Contract:
    master_name: str
    redis_port: int
    sentinel_port: int
    stream: str
    group: str
    dead_letter_stream: str
    channel_all_ticks: str
    channel_ticker_prefix: str
    channel_patterns: str
    key_prefix: str
    down_after_ms: int
    tls: bool

    # Keys the consumers own, all under key_prefix.
    @property
    def seen_prefix(self) -> str:
        """Bitmap per publisher, bit seq set once a stream consumer committed the tick."""
        return self.key_prefix + "seen:"

    @property
    def pubsub_seen_prefix(self) -> str:
        """The same for pub/sub mode, kept apart so it never vouches for the stream."""
        return self.key_prefix + "seen-pubsub:"

    @property
    def pattern_prefix(self) -> str:
        """One key per published pattern_id (SET NX, TTL)."""
        return self.key_prefix + "pattern:"

    @property
    def commit_guard_prefix(self) -> str:
        """One key per consumer id: the token of its last commit's first half (effects.py)."""
        return self.key_prefix + "commit:"

    def ticker_channel(self, ticker: str) -> str:
        return self.channel_ticker_prefix + ticker


def parse(text: str) -> Contract:
    """Build a Contract from TOML text; unknown keys are ignored, missing or mistyped ones raise."""
    data: dict[str, Any] = tomllib.loads(text)
    values: dict[str, Any] = {}
    for f in fields(Contract):
        if f.name not in data:
            raise ValueError(f"contract.toml: missing key {f.name!r}")
        value = data[f.name]
        want = {"int": int, "bool": bool}.get(str(f.type), str)
        if type(value) is not want:
            raise ValueError(f"contract.toml: {f.name} must be a {want.__name__}, got {value!r}")
        values[f.name] = value
    return Contract(**values)


def load() -> Contract:
    return parse(files("tickstockpl").joinpath("contract.toml").read_text(encoding="utf-8"))


CONTRACT = load()
