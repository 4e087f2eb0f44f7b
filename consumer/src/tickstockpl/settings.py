"""The one typed settings object, read from the environment.

Every variable is documented in consumer/README.md. A bad value raises
SettingsError naming the variable; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

Mode = Literal["stream", "pubsub"]
T = TypeVar("T")

DEFAULT_MASTER = "tickstock-redis"
STREAM = "tickstock-stream"
GROUP = "tickstockpl-group"
DEAD_LETTER_STREAM = "tickstock-stream:dead"
ALL_TICKS_CHANNEL = "tickstock.all_ticks"
TICKER_CHANNEL_PREFIX = "tickstock.ticks."
PATTERN_CHANNEL = "tickstock.events.patterns"
SEEN_KEY_PREFIX = "tickstockpl:seen:"
PUBSUB_SEEN_KEY_PREFIX = "tickstockpl:seen-pubsub:"
PATTERN_KEY_PREFIX = "tickstockpl:pattern:"


class SettingsError(ValueError):
    """A setting has a value we cannot use; `variable` names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Settings:
    # Redis data node (direct mode) and credentials.
    redis_host: str = "localhost"
    redis_port: int = 6379
    redis_db: int = 0
    redis_username: str | None = None
    redis_password: str | None = None
    # Sentinel: empty tuple means connect directly to redis_host:redis_port.
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str = DEFAULT_MASTER
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    socket_timeout: float = 2.0
    connect_timeout: float = 2.0
    sentinel_timeout: float = 0.5
    failover_timeout: float = 30.0
    # Consumer.
    consumer_id: str = ""
    batch_size: int = 500
    process_timeout: float = 30.0
    mode: Mode = "stream"
    tickers: tuple[str, ...] = ()
    max_deliveries: int = 5
    block_ms: int = 1000
    claim_interval: float = 5.0
    stream: str = STREAM
    group: str = GROUP
    dead_letter_stream: str = DEAD_LETTER_STREAM
    dead_letter_maxlen: int = 100_000
    stream_maxlen: int = 1_000_000
    wait_replicas: int = 0
    wait_timeout_ms: int = 500
    # Patterns.
    detectors: tuple[str, ...] = ("price_movement", "volume_spike")
    price_move_pct: float = 1.0
    volume_spike_factor: float = 3.0
    volume_window: int = 20
    pattern_ttl: int = 86_400
    # Operations.
    http_host: str = "127.0.0.1"
    http_port: int = 9108
    log_level: str = "INFO"

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = _Env(os.environ if env is None else env)
        sentinels: tuple[tuple[str, int], ...] = e.get("REDIS_SENTINELS", (), _sentinel_list)
        socket_timeout = e.get("REDIS_SOCKET_TIMEOUT", 2.0, _positive_float)
        block_ms = e.get("TICKSTOCKPL_BLOCK_MS", 1000, _int_range(1, 60_000))
        if socket_timeout * 1000 <= block_ms:
            # A blocking read must end before the socket gives up on it.
            raise SettingsError(
                "REDIS_SOCKET_TIMEOUT",
                f"must exceed TICKSTOCKPL_BLOCK_MS ({block_ms} ms), got {socket_timeout} s",
            )
        tls = e.get("REDIS_TLS", False, _bool)
        settings = cls(
            redis_host=e.get("REDIS_HOST", "localhost", _nonempty),
            redis_port=e.get("REDIS_PORT", 6379, _port),
            redis_db=e.get("REDIS_DB", 0, _int_range(0, 15)),
            redis_username=e.get("REDIS_USERNAME", None, _nonempty),
            redis_password=e.get("REDIS_PASSWORD", None, _nonempty),
            sentinels=sentinels,
            sentinel_master=e.get("REDIS_SENTINEL_MASTER", DEFAULT_MASTER, _nonempty),
            sentinel_username=e.get("REDIS_SENTINEL_USERNAME", None, _nonempty),
            sentinel_password=e.get("REDIS_SENTINEL_PASSWORD", None, _nonempty),
            tls=tls,
            tls_ca_file=e.get("REDIS_TLS_CA_FILE", None, _readable_file),
            tls_cert_file=e.get("REDIS_TLS_CERT_FILE", None, _readable_file),
            tls_key_file=e.get("REDIS_TLS_KEY_FILE", None, _readable_file),
            socket_timeout=socket_timeout,
            connect_timeout=e.get("REDIS_CONNECT_TIMEOUT", 2.0, _positive_float),
            sentinel_timeout=e.get("REDIS_SENTINEL_TIMEOUT", 0.5, _positive_float),
            failover_timeout=e.get("REDIS_FAILOVER_TIMEOUT", 30.0, _positive_float),
            consumer_id=e.get(
                "TICKSTOCKPL_CONSUMER_ID", f"{socket.gethostname()}-{os.getpid()}", _name
            ),
            batch_size=e.get("TICKSTOCKPL_BATCH_SIZE", 500, _int_range(1, 10_000)),
            process_timeout=e.get("TICKSTOCKPL_PROCESS_TIMEOUT", 30.0, _positive_float),
            mode=e.get("TICKSTOCKPL_MODE", "stream", _mode),
            tickers=e.get("TICKSTOCKPL_TICKERS", (), _tickers),
            max_deliveries=e.get("TICKSTOCKPL_MAX_DELIVERIES", 5, _int_range(1, 1000)),
            block_ms=block_ms,
            claim_interval=e.get("TICKSTOCKPL_CLAIM_INTERVAL", 5.0, _positive_float),
            stream=e.get("TICKSTOCKPL_STREAM", STREAM, _nonempty),
            group=e.get("TICKSTOCKPL_GROUP", GROUP, _nonempty),
            dead_letter_stream=e.get(
                "TICKSTOCKPL_DEAD_LETTER_STREAM", DEAD_LETTER_STREAM, _nonempty
            ),
            dead_letter_maxlen=e.get(
                "TICKSTOCKPL_DEAD_LETTER_MAXLEN", 100_000, _int_range(1, 10**9)
            ),
            stream_maxlen=e.get("TICKSTOCKPL_STREAM_MAXLEN", 1_000_000, _int_range(1, 10**9)),
            wait_replicas=e.get(
                "TICKSTOCKPL_WAIT_REPLICAS", 1 if sentinels else 0, _int_range(0, 16)
            ),
            wait_timeout_ms=e.get("TICKSTOCKPL_WAIT_TIMEOUT_MS", 500, _int_range(1, 60_000)),
            detectors=e.get("TICKSTOCKPL_DETECTORS", ("price_movement", "volume_spike"), _detectors),
            price_move_pct=e.get("TICKSTOCKPL_PRICE_MOVE_PCT", 1.0, _positive_float),
            volume_spike_factor=e.get("TICKSTOCKPL_VOLUME_SPIKE_FACTOR", 3.0, _positive_float),
            volume_window=e.get("TICKSTOCKPL_VOLUME_WINDOW", 20, _int_range(2, 10_000)),
            pattern_ttl=e.get("TICKSTOCKPL_PATTERN_TTL", 86_400, _int_range(1, 10**8)),
            http_host=e.get("TICKSTOCKPL_HTTP_HOST", "127.0.0.1", _nonempty),
            http_port=e.get("TICKSTOCKPL_HTTP_PORT", 9108, _int_range(0, 65535)),
            log_level=e.get("TICKSTOCKPL_LOG_LEVEL", "INFO", _log_level),
        )
        if (settings.tls_cert_file is None) != (settings.tls_key_file is None):
            raise SettingsError("REDIS_TLS_KEY_FILE", "set both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, or neither")
        if not tls and (settings.tls_ca_file or settings.tls_cert_file):
            raise SettingsError("REDIS_TLS", "TLS files are set but REDIS_TLS is off")
        return settings


class _Env:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        raw = self._env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            return parse(raw.strip())
        except (ValueError, OSError) as exc:
            raise SettingsError(name, f"{exc} (got {raw!r})") from None


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
    from tickstockpl.patterns import DETECTORS  # late import: patterns imports settings

    items = tuple(d.strip() for d in raw.split(",") if d.strip())
    unknown = [d for d in items if d not in DETECTORS and d != "none"]
    if unknown:
        raise ValueError(f"unknown detector(s) {unknown}; known: {sorted(DETECTORS)} or 'none'")
    return tuple(d for d in items if d != "none")


def _readable_file(raw: str) -> str:
    with open(raw, "rb"):
        pass
    return raw


def _log_level(raw: str) -> str:
    up = raw.upper()
    if up not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return up
