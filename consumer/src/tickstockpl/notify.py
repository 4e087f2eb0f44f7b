"""systemd notify protocol (sd_notify), a few lines instead of a dependency."""

from __future__ import annotations

import os
import socket
import time


def sd_notify(message: str) -> bool:
    """Send one datagram to $NOTIFY_SOCKET; False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


class Notifier:
    """READY once, WATCHDOG at half the interval systemd asked for."""

    def __init__(self) -> None:
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        enabled = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.interval = int(usec) / 2e6 if enabled else None
        self._last = 0.0
        self._ready = False

    def ready(self, status: str = "consuming") -> None:
        if not self._ready:
            self._ready = True
            sd_notify(f"READY=1\nSTATUS={status}")

    def watchdog(self) -> None:
        if self.interval is None:
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            sd_notify("WATCHDOG=1")

    def status(self, text: str) -> None:
        sd_notify(f"STATUS={text}")

    def stopping(self) -> None:
        sd_notify("STOPPING=1")
