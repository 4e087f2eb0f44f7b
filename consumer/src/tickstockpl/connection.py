"""Where a client finds the master: a Redis client that follows Sentinel.

With REDIS_SENTINELS set, the master address comes from Sentinel (master name
REDIS_SENTINEL_MASTER) and is re-resolved after every connection error, so a
failover is followed without restarting. Without it, we connect directly.

redis-py's `master_for` has no retry of its own: we pass `BudgetRetry`, which
keeps retrying connection errors for REDIS_FAILOVER_TIMEOUT seconds, enough
to cover Sentinel's down-after period plus the election.

A client that only listens (pub/sub) makes no call that could fail when the
old master is cut off but alive: it asks for `SentinelWatch`, which hears
Sentinel's `+switch-master` as it is said, and check_master then asks
Sentinel again at once, as a reconnect would.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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

SWITCH_CHANNEL = "+switch-master"
# SentinelWatch: how often it pings its subscription, or asks when it has none;
# and how long a subscription may stay silent (no pong) before it counts as lost.
WATCH_EVERY_S = 1.0
WATCH_SILENT_S = 2.0
# Connector: how often it asks Sentinel again while the watch names another master.
HEED_EVERY_S = 0.5

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
        self._local = threading.local()

    @contextmanager
    def once(self) -> Iterator[None]:
        """Within: a call that fails is not sent again. For a call whose effect may
        already have run on the old master: sent again, it could run twice."""
        self._local.once = True
        try:
            yield
        finally:
            self._local.once = False

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
                if getattr(self._local, "once", False):
                    raise
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
        self._watch: SentinelWatch | None = None
        self._heed_after = 0.0
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
            # No CLIENT SETINFO on connect: the kit's ACL users may not run it on
            # Valkey 8 (each refusal fills the ACL LOG), and Redis 7.0 rejects the rule.
            "driver_info": None,
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

    def _sentinels(self) -> Sentinel:
        """A client of the Sentinels (each caller its own: redis-py's reorders its list as it asks)."""
        s = self.settings
        sentinel_kw = {k: v for k, v in self._common_kwargs().items() if k.startswith(("socket_", "ssl", "driver_"))}
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
        return Sentinel(list(s.sentinels), sentinel_kwargs=sentinel_kw)  # type: ignore[no-untyped-call]

    def _build(self) -> redis.Redis:
        s = self.settings
        kw = self._common_kwargs()
        auth: dict[str, Any] = {
            "username": s.redis_username, "password": s.redis_password, "db": s.redis_db,
        }
        if not s.uses_sentinel:
            return redis.Redis(host=s.redis_host, port=s.redis_port, **auth, **kw)
        self._sentinel = self._sentinels()
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

    def watch_sentinel(self) -> None:
        """Hear Sentinel name a new master as it does (SentinelWatch), not at the next failing call.

        For a client that only listens: pub/sub mode. No-op without Sentinels.
        """
        if self._sentinel is not None and self._watch is None:
            self._watch = SentinelWatch(self._sentinels(), self.settings.sentinel_master)

    def _heed_watch(self) -> None:
        # The watch names another master than the pool's: ask Sentinel again now,
        # as a reconnect would (redis-py then drops the idle connections to the
        # old one). What the watch heard is only the cue: the address is the
        # Sentinels' checked answer, the same a reconnect gets.
        if self._watch is None:
            return
        heard = self._watch.heard
        pool = self.client.connection_pool
        current = getattr(pool, "master_address", None)
        if heard is None or current is None or heard == current or time.monotonic() < self._heed_after:
            return
        self._heed_after = time.monotonic() + HEED_EVERY_S
        try:
            pool.get_master_address()  # type: ignore[attr-defined]
        except RETRYABLE as exc:
            log.debug("sentinel named a new master; asking again failed", extra={"ctx": {"error": str(exc)}})

    def check_master(self) -> tuple[str, int] | None:
        """Note a change of master address (a failover); cheap, no I/O in direct mode."""
        if self._sentinel is None:
            return (self.settings.redis_host, self.settings.redis_port)
        self._heed_watch()
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
        if self._watch is not None:
            self._watch.stop()
        self.client.close()
        if self._sentinel is not None:
            self._sentinel.close()


class SentinelWatch:
    """What the Sentinels last said the master is, heard in a thread of its own.

    It subscribes `+switch-master` on one Sentinel and pings it every
    WATCH_EVERY_S. A Sentinel that fails or answers no ping for WATCH_SILENT_S
    (cut off by a partition, say) is left for the next one. While none will
    take a subscription (down, refused), it asks for the master (the checked
    answer a reconnect gets) every WATCH_EVERY_S; once too after each
    subscribe, for a switch said while nobody listened. It only records the
    address; the Connector acts on it, in the thread that owns the
    connections. `+promoted-slave` is not used: when it is said, the Sentinels
    still name the old master.
    """

    def __init__(self, sentinel: Sentinel, master_name: str) -> None:
        self._sentinel = sentinel
        self._name = master_name
        self._lock = threading.Lock()
        self._heard: tuple[str, int] | None = None
        self._subscribed = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sentinel-watch", daemon=True)
        self._thread.start()

    @property
    def heard(self) -> tuple[str, int] | None:
        with self._lock:
            return self._heard

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(1.0)  # a daemon: one stuck on a cut-off Sentinel ends on its own

    def _hear(self, addr: tuple[str, int], how: str) -> None:
        with self._lock:
            before, self._heard = self._heard, addr
        if before is not None and before != addr:
            log.info("sentinel names another master",
                     extra={"ctx": {"old": _fmt(before), "new": _fmt(addr), "by": how}})

    def _ask(self) -> None:
        try:
            self._hear(cast("tuple[str, int]", self._sentinel.discover_master(self._name)), "query")  # type: ignore[no-untyped-call]
        except (RedisError, OSError) as exc:
            log.debug("sentinel query failed", extra={"ctx": {"error": str(exc)}})

    def _run(self) -> None:
        nodes = list(self._sentinel.sentinels)
        turn = 0
        while not self._stopping.is_set():
            node = nodes[turn % len(nodes)]
            turn += 1
            try:
                self._listen(node)
            except (RedisError, OSError) as exc:
                if self._subscribed:
                    # Straight to the next Sentinel: its subscribe asks once, for what we missed.
                    log.warning("sentinel subscription lost; subscribing on the next sentinel",
                                extra={"ctx": {"error": f"{type(exc).__name__}: {exc}"}})
                    self._subscribed = False
                    continue
                log.debug("sentinel subscription failed; asking instead", extra={"ctx": {"error": str(exc)}})
            self._ask()
            self._stopping.wait(WATCH_EVERY_S)
        self._sentinel.close()

    def _listen(self, node: redis.Redis) -> None:
        """Hold a +switch-master subscription on node until it fails or goes silent."""
        pubsub: Any = node.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(SWITCH_CHANNEL)
            heard_at = pinged_at = time.monotonic()
            while not self._stopping.is_set():
                msg = pubsub.get_message(timeout=0.25)
                now = time.monotonic()
                if msg is not None:
                    heard_at = now
                    if msg["type"] == "subscribe":
                        self._subscribed = True
                        self._ask()  # a switch said before we listened
                    elif msg["type"] == "message":
                        self._switch(bytes(msg["data"]))
                elif now - heard_at > WATCH_SILENT_S:
                    raise RedisTimeoutError(f"no answer from the sentinel for {WATCH_SILENT_S} s")
                if now - pinged_at >= WATCH_EVERY_S:
                    pubsub.ping()
                    pinged_at = now
        finally:
            pubsub.close()

    def _switch(self, data: bytes) -> None:
        # "<master name> <old ip> <old port> <new ip> <new port>"
        fields = data.decode(errors="replace").split()
        if len(fields) == 5 and fields[0] == self._name and fields[4].isdigit():
            self._hear((fields[3], int(fields[4])), SWITCH_CHANNEL)


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
