"""The one typed settings object, read from the environment.

Each setting is declared once, below: its default, and in its field metadata
the environment variable and the parser for it (`env(...)`). from_env reads
that table; docs/interface.md documents every variable (a test checks the
two agree). A bad value raises SettingsError naming the variable; the CLI
turns that into exit code 2.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tickstockpl.contract import CONTRACT
from tickstockpl.detectors import REGISTRY

Mode = Literal["stream", "pubsub"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AUTO = -1  # wait_replicas: 1 with Sentinels, else 0
DEAD_LETTER_OVERHEAD = 1024  # bytes of a dead letter besides its payload, at most


class SettingsError(ValueError):
    """A setting has a value we cannot use; `variable` names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


# -- parsers: raw text -> value, ValueError with the problem ------------------
def _nonempty(raw: str) -> str:
    return raw


def _bool(raw: str) -> bool:
    low = raw.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be a boolean (true/false, yes/no, 1/0, on/off)")


def _int_range(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer between {lo} and {hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


_port = _int_range(1, 65535)


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if not 0 < value < 1e6:  # also rejects nan and inf
        raise ValueError("must be a positive number of seconds below 1e6")
    return value


def _sentinel_list(raw: str) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host:
            raise ValueError(f"entry {item!r} must be host:port")
        out.append((host.strip("[]"), _port(port)))
    return tuple(out)


def _name(raw: str) -> str:
    if len(raw) > 128 or any(c.isspace() for c in raw):
        raise ValueError("must be at most 128 characters without spaces")
    return raw


def _mode(raw: str) -> Mode:
    if raw == "stream":
        return "stream"
    if raw == "pubsub":
        return "pubsub"
    raise ValueError("must be 'stream' or 'pubsub'")


def _tickers(raw: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in raw.split(",") if t.strip())
    for t in items:
        if t != t.upper() or len(t) > 16:
            raise ValueError(f"ticker {t!r} must be uppercase, at most 16 characters")
    return items


def _detectors(raw: str) -> tuple[str, ...]:
    items = tuple(d.strip() for d in raw.split(",") if d.strip())
    unknown = [d for d in items if d not in REGISTRY and d != "none"]
    if unknown:
        raise ValueError(f"unknown detector(s) {unknown}; known: {sorted(REGISTRY)} or 'none'")
    return tuple(d for d in items if d != "none")


def _readable_file(raw: str) -> str:
    with open(raw, "rb"):
        pass
    return raw


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    out: list[IPNetwork] = []
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"entry {item!r} must be an IP address or a prefix such as 10.0.0.0/24") from None
    return tuple(out)


def _secret_file(raw: str) -> str:
    """The password in a file: kept out of the process environment."""
    with open(raw, encoding="utf-8") as f:
        secret = f.read().rstrip("\r\n")
    if not secret:
        raise ValueError("the file is empty")
    return secret


def _log_level(raw: str) -> str:
    up = raw.upper()
    if up not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return up


def env(variable: str, parse: Callable[[str], Any]) -> dict[str, Any]:
    """Field metadata: read this field from `variable`, through `parse`."""
    return {"env": variable, "parse": parse}


def _default_consumer_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Settings:
    # Redis data node (direct mode) and credentials.
    redis_host: str = field(default="localhost", metadata=env("REDIS_HOST", _nonempty))
    redis_port: int = field(default=CONTRACT.redis_port, metadata=env("REDIS_PORT", _port))
    redis_db: int = field(default=0, metadata=env("REDIS_DB", _int_range(0, 15)))
    redis_username: str | None = field(default=None, metadata=env("REDIS_USERNAME", _nonempty))
    redis_password: str | None = field(default=None, repr=False, metadata=env("REDIS_PASSWORD", _nonempty))
    redis_password_from_file: str | None = field(
        default=None, repr=False, metadata=env("REDIS_PASSWORD_FILE", _secret_file))
    # Sentinel: empty tuple means connect directly to redis_host:redis_port.
    sentinels: tuple[tuple[str, int], ...] = field(
        default=(), metadata=env("REDIS_SENTINELS", _sentinel_list))
    sentinel_master: str = field(
        default=CONTRACT.master_name, metadata=env("REDIS_SENTINEL_MASTER", _nonempty))
    sentinel_username: str | None = field(
        default=None, metadata=env("REDIS_SENTINEL_USERNAME", _nonempty))
    sentinel_password: str | None = field(
        default=None, repr=False, metadata=env("REDIS_SENTINEL_PASSWORD", _nonempty))
    sentinel_password_from_file: str | None = field(
        default=None, repr=False, metadata=env("REDIS_SENTINEL_PASSWORD_FILE", _secret_file))
    tls: bool = field(default=CONTRACT.tls, metadata=env("REDIS_TLS", _bool))
    tls_ca_file: str | None = field(default=None, metadata=env("REDIS_TLS_CA_FILE", _readable_file))
    tls_cert_file: str | None = field(
        default=None, metadata=env("REDIS_TLS_CERT_FILE", _readable_file))
    tls_key_file: str | None = field(default=None, metadata=env("REDIS_TLS_KEY_FILE", _readable_file))
    socket_timeout: float = field(default=2.0, metadata=env("REDIS_SOCKET_TIMEOUT", _positive_float))
    connect_timeout: float = field(default=2.0, metadata=env("REDIS_CONNECT_TIMEOUT", _positive_float))
    sentinel_timeout: float = field(
        default=0.5, metadata=env("REDIS_SENTINEL_TIMEOUT", _positive_float))
    failover_timeout: float = field(
        default=30.0, metadata=env("REDIS_FAILOVER_TIMEOUT", _positive_float))
    # Consumer.
    consumer_id: str = field(
        default_factory=_default_consumer_id, metadata=env("TICKSTOCKPL_CONSUMER_ID", _name))
    batch_size: int = field(default=500, metadata=env("TICKSTOCKPL_BATCH_SIZE", _int_range(1, 10_000)))
    process_timeout: float = field(
        default=30.0, metadata=env("TICKSTOCKPL_PROCESS_TIMEOUT", _positive_float))
    mode: Mode = field(default="stream", metadata=env("TICKSTOCKPL_MODE", _mode))
    tickers: tuple[str, ...] = field(default=(), metadata=env("TICKSTOCKPL_TICKERS", _tickers))
    max_deliveries: int = field(
        default=5, metadata=env("TICKSTOCKPL_MAX_DELIVERIES", _int_range(1, 1000)))
    block_ms: int = field(default=1000, metadata=env("TICKSTOCKPL_BLOCK_MS", _int_range(1, 60_000)))
    claim_interval: float = field(
        default=5.0, metadata=env("TICKSTOCKPL_CLAIM_INTERVAL", _positive_float))
    stream: str = field(default=CONTRACT.stream, metadata=env("TICKSTOCKPL_STREAM", _nonempty))
    group: str = field(default=CONTRACT.group, metadata=env("TICKSTOCKPL_GROUP", _nonempty))
    dead_letter_stream: str = field(
        default=CONTRACT.dead_letter_stream, metadata=env("TICKSTOCKPL_DEAD_LETTER_STREAM", _nonempty))
    dead_letter_maxlen: int = field(
        default=100_000, metadata=env("TICKSTOCKPL_DEAD_LETTER_MAXLEN", _int_range(1, 10**9)))
    # Sizes. An entry or message over max_entry_bytes is dead-lettered unread
    # (too_large); a dead letter keeps at most dead_letter_payload_bytes of it,
    # and the dead-letter stream at most dead_letter_max_bytes (dead_letter_cap).
    max_entry_bytes: int = field(
        default=65_536, metadata=env("TICKSTOCKPL_MAX_ENTRY_BYTES", _int_range(1024, 64 << 20)))
    # One reply from Redis may not exceed this: past it the connection is dropped (ReplyTooLarge).
    read_budget_bytes: int = field(
        default=16 << 20, metadata=env("TICKSTOCKPL_READ_BUDGET_BYTES", _int_range(64 << 10, 1 << 30)))
    dead_letter_payload_bytes: int = field(
        default=2048, metadata=env("TICKSTOCKPL_DEAD_LETTER_PAYLOAD_BYTES", _int_range(0, 1 << 20)))
    dead_letter_max_bytes: int = field(
        default=64 << 20, metadata=env("TICKSTOCKPL_DEAD_LETTER_MAX_BYTES", _int_range(1 << 20, 1 << 34)))
    stream_maxlen: int = field(
        default=1_000_000, metadata=env("TICKSTOCKPL_STREAM_MAXLEN", _int_range(1, 10**9)))
    # Seconds; producers also trim entries older than this (XTRIM MINID ~). 0: by count only.
    stream_max_age: int = field(
        default=0, metadata=env("TICKSTOCKPL_STREAM_MAX_AGE", _int_range(0, 10**9)))
    # AUTO: 1 with Sentinels (a write counts once a replica has it), else 0.
    wait_replicas: int = field(
        default=AUTO, metadata=env("TICKSTOCKPL_WAIT_REPLICAS", _int_range(0, 16)))
    wait_timeout_ms: int = field(
        default=500, metadata=env("TICKSTOCKPL_WAIT_TIMEOUT_MS", _int_range(1, 60_000)))
    # The seen-window (seen.py): seqs kept per publisher behind its highest, and key lifetime.
    seen_window: int = field(
        default=1 << 24, metadata=env("TICKSTOCKPL_SEEN_WINDOW", _int_range(1 << 16, 1 << 32)))
    seen_ttl: int = field(default=604_800, metadata=env("TICKSTOCKPL_SEEN_TTL", _int_range(60, 10**8)))
    # Patterns.
    detectors: tuple[str, ...] = field(
        default=tuple(REGISTRY), metadata=env("TICKSTOCKPL_DETECTORS", _detectors))
    price_move_pct: float = field(
        default=1.0, metadata=env("TICKSTOCKPL_PRICE_MOVE_PCT", _positive_float))
    volume_spike_factor: float = field(
        default=3.0, metadata=env("TICKSTOCKPL_VOLUME_SPIKE_FACTOR", _positive_float))
    volume_window: int = field(
        default=20, metadata=env("TICKSTOCKPL_VOLUME_WINDOW", _int_range(2, 10_000)))
    # Per-ticker detector state is kept for this many tickers, least recently seen dropped first.
    max_tickers: int = field(
        default=50_000, metadata=env("TICKSTOCKPL_MAX_TICKERS", _int_range(1, 10_000_000)))
    pattern_ttl: int = field(
        default=86_400, metadata=env("TICKSTOCKPL_PATTERN_TTL", _int_range(1, 10**8)))
    # Operations.
    http_host: str = field(default="127.0.0.1", metadata=env("TICKSTOCKPL_HTTP_HOST", _nonempty))
    http_port: int = field(default=9108, metadata=env("TICKSTOCKPL_HTTP_PORT", _int_range(0, 65535)))
    # Peers beyond loopback that may use the endpoints (a scraping Prometheus).
    http_allow: tuple[IPNetwork, ...] = field(default=(), metadata=env("TICKSTOCKPL_HTTP_ALLOW", _networks))
    log_level: str = field(default="INFO", metadata=env("TICKSTOCKPL_LOG_LEVEL", _log_level))

    def __post_init__(self) -> None:
        if self.wait_replicas == AUTO:
            object.__setattr__(self, "wait_replicas", 1 if self.sentinels else 0)

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    @property
    def dead_letter_cap(self) -> int:
        """Entries the dead-letter stream keeps: by count, and by bytes at the
        largest a dead letter can be (payload, detail <= 500, other fields)."""
        largest = self.dead_letter_payload_bytes + DEAD_LETTER_OVERHEAD
        return max(1, min(self.dead_letter_maxlen, self.dead_letter_max_bytes // largest))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            variable, parse = f.metadata["env"], f.metadata["parse"]
            raw = e.get(variable)
            if raw is None or raw.strip() == "":
                continue  # the field's default
            try:
                values[f.name] = parse(raw.strip())
            except (ValueError, OSError) as exc:
                raise SettingsError(variable, f"{exc} (got {raw!r})") from None
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        """Rules that involve more than one setting."""
        for name, direct, from_file in (
            ("REDIS_PASSWORD", "redis_password", "redis_password_from_file"),
            ("REDIS_SENTINEL_PASSWORD", "sentinel_password", "sentinel_password_from_file"),
        ):
            if getattr(self, from_file) is not None:
                if getattr(self, direct) is not None:
                    raise SettingsError(f"{name}_FILE", f"set {name} or {name}_FILE, not both")
                object.__setattr__(self, direct, getattr(self, from_file))
        if self.socket_timeout * 1000 <= self.block_ms:
            # A blocking read must end before the socket gives up on it.
            raise SettingsError(
                "REDIS_SOCKET_TIMEOUT",
                f"must exceed TICKSTOCKPL_BLOCK_MS ({self.block_ms} ms), got {self.socket_timeout} s",
            )
        if self.read_budget_bytes < 4 * self.max_entry_bytes:
            # A batch of one entry at the limit must fit in a reply, with room.
            raise SettingsError(
                "TICKSTOCKPL_READ_BUDGET_BYTES",
                f"must be at least 4 x TICKSTOCKPL_MAX_ENTRY_BYTES ({4 * self.max_entry_bytes}), "
                f"got {self.read_budget_bytes}",
            )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise SettingsError("REDIS_TLS_KEY_FILE", "set both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, or neither")
        if not self.tls and (self.tls_ca_file or self.tls_cert_file):
            raise SettingsError("REDIS_TLS", "TLS files are set but REDIS_TLS is off")


def variables() -> dict[str, dataclasses.Field[Any]]:
    """Every environment variable, with the field it sets (the docs are checked against it)."""
    return {f.metadata["env"]: f for f in dataclasses.fields(Settings)}
