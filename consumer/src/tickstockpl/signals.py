"""Signals are handled here and nowhere else: they only set a flag.

First SIGTERM/SIGINT: `requested` becomes true; loops finish the batch in
hand, ack it and return (warm shutdown). Redis retries give up at the signal
(BudgetRetry.stop), so with Redis unreachable it exits within a socket
timeout instead of the failover budget, acking nothing. A second one exits at once (cold
shutdown), for an operator who does not want to wait.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType


class Shutdown:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, why: str = "requested") -> None:
        self.signal_name = self.signal_name or why
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout`, waking early on shutdown. True if shutting down."""
        return self._event.wait(timeout)

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._event.is_set():
            os._exit(128 + signum)
        self.signal_name = signal.Signals(signum).name
        self._event.set()
