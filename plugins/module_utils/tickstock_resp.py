"""A minimal Redis client (RESP2) for the kit's Ansible module.

The module talks to Redis and Sentinel itself instead of running redis-cli,
so that no password is ever on a command line or in an environment that
`ps` or Ansible's -vvv output can show. Standard library only: the targets
need nothing but Python.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any

Reply = str | int | list["Reply"] | None


class RedisReplyError(Exception):
    """The server answered with an error reply (-ERR, -NOAUTH, -NOPERM, ...)."""


class Connection:
    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 5.0,
        tls: bool = False,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_server_name: str | None = None,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=tls_ca)
            if tls_cert:
                ctx.load_cert_chain(tls_cert, tls_key)
            # The lab's certificates name hosts, not 127.0.0.1; trust is the CA.
            ctx.check_hostname = tls_server_name is not None
            sock = ctx.wrap_socket(sock, server_hostname=tls_server_name or host)
        self._sock = sock
        self._buf = b""

    def close(self) -> None:
        self._sock.close()

    def call(self, *args: Any) -> Reply:
        self._sock.sendall(encode(args))
        return self._read()

    def listen(self, seconds: float) -> list[Reply]:
        """Every message pushed within `seconds` (after SUBSCRIBE); a message cut off at the end is dropped."""
        deadline = time.monotonic() + seconds
        out: list[Reply] = []
        while (left := deadline - time.monotonic()) > 0:
            self._sock.settimeout(left)
            try:
                out.append(self._read())
            except TimeoutError:
                break
        return out

    # -- reading --------------------------------------------------------
    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self._buf) < n + 2:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by the server")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n + 2 :]
        return data

    def _read(self) -> Reply:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode(errors="replace")
        if kind == b"-":
            raise RedisReplyError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"unexpected reply {line[:40]!r}")


def parse_info(text: str) -> dict[str, str]:
    """INFO output: `key:value` lines; `# Section` headers and blank lines are skipped."""
    info: dict[str, str] = {}
    for line in str(text).splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            info[key] = value.strip()
    return info


def info_replicas(info: dict[str, str]) -> list[dict[str, str]]:
    """The `slaveN:ip=...,port=...,state=...,offset=...,lag=...` lines of a master's INFO, in order."""
    keys = sorted((k for k in info if k.startswith("slave") and k[5:].isdigit()), key=lambda k: int(k[5:]))
    return [dict(part.split("=", 1) for part in info[k].split(",") if "=" in part) for k in keys]


def first(reply: Reply) -> Reply:
    """The first element of a list reply, or the reply itself."""
    return reply[0] if isinstance(reply, list) and reply else reply


def condition_met(reply: Reply, error: str | None, changed_from: Any = None,
                  error_contains: str | None = None) -> bool:
    """What the module's wait_s waits for, on the first command's outcome."""
    if error_contains is not None:
        return error is not None and error_contains in error
    if changed_from is not None:
        return error is None and first(reply) not in (None, "", str(changed_from))
    return True


def encode(args: tuple[Any, ...] | list[Any]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def as_text(reply: Reply) -> str:
    """A reply as redis-cli --raw prints it: one line per element."""
    if isinstance(reply, list):
        return "\n".join(as_text(r) for r in reply)
    return "" if reply is None else str(reply)
