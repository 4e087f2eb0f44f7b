"""Where a client finds the master: a Redis client that follows Sentinel.

With REDIS_SENTINELS set, the master address comes from Sentinel (master name
REDIS_SENTINEL_MASTER) and is re-resolved after every connection error, so a
failover is followed without restarting. Without it, we connect directly.

redis-py's `master_for` has no retry of its own: we pass `BudgetRetry`, which
keeps retrying connection errors for REDIS_FAILOVER_TIMEOUT seconds, enough
to cover Sentinel's down-after period plus the election.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import redis
from redis._parsers import _HiredisParser
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from tickstockpl.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that mean "the master went away or moved": retry, then re-resolve.
RETRYABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    socket.timeout,
    ReadOnlyError,
)


class ReplyTooLarge(RedisError):
    """A reply outgrew TICKSTOCKPL_READ_BUDGET_BYTES; its connection was dropped unread."""


class BudgetParser(_HiredisParser):
    """hiredis, but a reply may take at most `budget` bytes off the socket.

    Past it we raise ReplyTooLarge and redis-py drops the connection, so a
    reply of 30 x 10 MB costs 16 MiB, not 680 MB and an OOM kill. Subclassed
    per Connector with its budget (parser_class is instantiated by redis-py).
    """

    budget = 16 << 20

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        self._taken = 0
        return super().read_response(*args, **kwargs)

    def read_from_socket(self, *args: Any, **kwargs: Any) -> Any:
        reader = self._reader
        before = reader.len() if reader is not None else 0
        got = super().read_from_socket(*args, **kwargs)  # type: ignore[no-untyped-call]
        if reader is not None:
            self._taken = getattr(self, "_taken", 0) + reader.len() - before
            if self._taken > self.budget:
                raise ReplyTooLarge(f"reply over {self.budget} bytes")
        return got


class BudgetRetry(Retry):
    """Retry for a span of time rather than a count; report recoveries.

    A count cannot express "cover down-after plus the election" because each
    failed attempt takes a different time (refused at once vs. timed out).
    """

    def __init__(
        self,
        budget_s: float,
        on_failure: Callable[[Exception], None] | None = None,
        on_recovery: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(ExponentialBackoff(cap=0.25, base=0.02), -1, RETRYABLE)
        self.budget_s = budget_s
        self._on_failure = on_failure
        self._on_recovery = on_recovery
        # stop(pause): sleep up to pause, True if shutting down. A stopping
        # process must not spend the rest of the budget on a dead Redis.
        self.stop: Callable[[float], bool] | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> BudgetRetry:
        # redis-py deep-copies the retry per client; ours reports to one
        # Connector, so every copy must be this same object.
        return self

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        self._backoff.reset()  # type: ignore[no-untyped-call]
        deadline = time.monotonic() + self.budget_s
        failures = 0
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                if is_retryable and not is_retryable(error):
                    raise
                failures += 1
                if self._on_failure is not None:
                    self._on_failure(error)
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                pause = self._backoff.compute(failures)
                if time.monotonic() + pause > deadline:
                    raise
                if self.stop is None:
                    time.sleep(pause)
                elif self.stop(pause):
                    raise
            else:
                if failures and self._on_recovery is not None:
                    self._on_recovery()
                return result


class FollowingConnection(SentinelManagedConnection):
    """A Sentinel-managed connection that re-resolves the master on every connect.

    redis-py's send_packed_command reconnects through connect_check_health(),
    which skips SentinelManagedConnection.connect() and so dials the *old*
    master address until the retry budget runs out. Route it through
    connect(), which asks Sentinel first.
    """

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        if self._sock:
            return
        if retry_socket_connect:
            self.connect()  # type: ignore[no-untyped-call]
            return
        super().connect_check_health(check_health=check_health, retry_socket_connect=False)


class FollowingSSLConnection(FollowingConnection, SSLConnection):
    pass


class Connector:
    """Owns the client, the Sentinel view and the reconnect/failover counts."""

    def __init__(self, settings: Settings, *, retry_budget: float | None = None) -> None:
        self.settings = settings
        self.reconnects = 0
        self.failovers = 0
        # Bumped on each failover seen, so loops know to re-drain and re-check.
        self.generation = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        budget = settings.failover_timeout if retry_budget is None else retry_budget
        self.retry = BudgetRetry(budget, self._failed, self._recovered)
        self._sentinel: Sentinel | None = None
        self.client = self._build()
        # Redis() takes no parser_class; its pool makes every connection (pub/sub too) from these.
        self.client.connection_pool.connection_kwargs["parser_class"] = type(
            "BudgetParser", (BudgetParser,), {"budget": settings.read_budget_bytes})
        self._master: tuple[str, int] | None = None

    # -- construction ---------------------------------------------------
    def _common_kwargs(self) -> dict[str, Any]:
        s = self.settings
        kw: dict[str, Any] = {
            "socket_timeout": s.socket_timeout,
            "socket_connect_timeout": s.connect_timeout,
            "socket_keepalive": True,
            "socket_keepalive_options": _keepalive_options(),
            "health_check_interval": max(1, int(s.socket_timeout)),
            "retry": self.retry,
        }
        if s.tls:
            kw.update(
                ssl=True,
                ssl_ca_certs=s.tls_ca_file,
                ssl_certfile=s.tls_cert_file,
                ssl_keyfile=s.tls_key_file,
                ssl_cert_reqs=ssl.CERT_REQUIRED,
            )
        return kw

    def _build(self) -> redis.Redis:
        s = self.settings
        kw = self._common_kwargs()
        auth: dict[str, Any] = {
            "username": s.redis_username, "password": s.redis_password, "db": s.redis_db,
        }
        if not s.uses_sentinel:
            return redis.Redis(host=s.redis_host, port=s.redis_port, **auth, **kw)
        sentinel_kw = {k: v for k, v in kw.items() if k.startswith(("socket_", "ssl"))}
        # Sentinels answer fast or not at all: a short timeout, so one cut off by a
        # partition costs little, and no retry of their own (the caller's
        # BudgetRetry retries the whole discovery).
        sentinel_kw.update(
            socket_timeout=s.sentinel_timeout,
            socket_connect_timeout=s.sentinel_timeout,
            retry=Retry(NoBackoff(), 0),
            username=s.sentinel_username,
            password=s.sentinel_password,
        )
        self._sentinel = Sentinel(list(s.sentinels), sentinel_kwargs=sentinel_kw)  # type: ignore[no-untyped-call]
        return cast(
            redis.Redis,
            self._sentinel.master_for(  # type: ignore[no-untyped-call]
                s.sentinel_master,
                connection_class=FollowingSSLConnection if s.tls else FollowingConnection,
                **auth,
                **{k: v for k, v in kw.items() if k != "ssl"},
            ),
        )

    # -- state ------------------------------------------------------------
    def _failed(self, error: Exception) -> None:
        self.last_error = f"{type(error).__name__}: {error}"
        log.debug("redis operation failed, retrying", extra={"ctx": {"error": self.last_error}})

    def _recovered(self) -> None:
        with self._lock:
            self.reconnects += 1
        log.warning("reconnected to redis", extra={"ctx": {"after": self.last_error}})
        self.check_master()

    def master_address(self) -> tuple[str, int]:
        """The address we are (or will be) talking to; asks Sentinel if needed."""
        s = self.settings
        if self._sentinel is None:
            return (s.redis_host, s.redis_port)
        pool = self.client.connection_pool
        addr = cast("tuple[str, int] | None", getattr(pool, "master_address", None))
        if addr is None:
            addr = cast("tuple[str, int]", pool.get_master_address())  # type: ignore[attr-defined]
        return addr

    def check_master(self) -> tuple[str, int] | None:
        """Note a change of master address (a failover); cheap, no I/O in direct mode."""
        if self._sentinel is None:
            return (self.settings.redis_host, self.settings.redis_port)
        addr = cast("tuple[str, int] | None", getattr(self.client.connection_pool, "master_address", None))
        if addr is None:
            return None
        with self._lock:
            if self._master is not None and addr != self._master:
                self.failovers += 1
                self.generation += 1
                log.warning(
                    "failover seen: master moved",
                    extra={"ctx": {"old": _fmt(self._master), "new": _fmt(addr)}},
                )
            self._master = addr
        return addr

    def close(self) -> None:
        self.client.close()
        if self._sentinel is not None:
            self._sentinel.close()


def _fmt(addr: Iterable[object]) -> str:
    host, port = tuple(addr)
    return f"{host}:{port}"


def format_address(addr: tuple[str, int]) -> str:
    return _fmt(addr)


def _keepalive_options() -> dict[int, int]:
    # Detect a silently dead peer in ~10 s even with no traffic (Linux names).
    opts: dict[int, int] = {}
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            opts[getattr(socket, name)] = value
    return opts
