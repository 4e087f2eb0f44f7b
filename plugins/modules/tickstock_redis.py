#!/usr/bin/python
"""Run Redis or Sentinel commands without exposing the password."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tickstock_redis
short_description: Run Redis or Sentinel commands, the password never on a command line
description:
  - Connects to a Redis server or Sentinel (plain TCP or TLS), authenticates as
    an ACL user and runs one or more commands on one connection.
  - The password travels inside the module's arguments (never argv or the
    environment) and is masked in every output.
  - Never reports changed; callers decide that from the replies.
options:
  host: {type: str, default: 127.0.0.1, description: Server address.}
  port: {type: int, required: true, description: Server port.}
  user: {type: str, description: ACL user; none for the default user.}
  password: {type: str, no_log: true, description: Password of that user.}
  commands:
    type: list
    elements: raw
    required: true
    description: Commands, each a list of words, run in order on one connection.
  timeout: {type: float, default: 5.0, description: Seconds for connect and each reply.}
  allow_errors:
    type: bool
    default: false
    description: Return error replies and connection failures in C(errors) instead of failing.
  listen_s:
    type: float
    default: 0
    description: After the commands (a SUBSCRIBE among them), collect the pushed messages for this many seconds.
  wait_s:
    type: float
    default: 0
    description:
      - Re-run the commands (a new connection each time) every I(poll_s) for up to this many
        seconds until the first command's outcome meets I(changed_from) or I(error_contains).
        Connection failures meanwhile are not errors. C(met) and C(at) tell the outcome.
  poll_s: {type: float, default: 0.1, description: Seconds between two tries of I(wait_s).}
  changed_from:
    type: raw
    description: Wait until the first command's reply (its first element if a list) is neither this nor empty.
  error_contains: {type: str, description: Wait until the first command fails with an error containing this.}
  tls: {type: bool, default: false, description: Use TLS.}
  tls_ca: {type: path, description: CA bundle that signs the server certificate.}
  tls_cert: {type: path, description: Client certificate, when the server asks for one.}
  tls_key: {type: path, description: Key of that certificate.}
"""

RETURN = r"""
replies: {description: One reply per command (strings, integers, lists, null); null after an error., type: list}
texts: {description: Each reply as redis-cli --raw prints it., type: list}
errors: {description: One entry per command, null or the error text (only with allow_errors)., type: list}
messages: {description: "What was pushed during listen_s, each as a reply (['message', channel, data])", type: list}
met: {description: With wait_s, whether the condition was met; true without it., type: bool}
at: {description: Epoch seconds on the target when the last try ended (when the condition was met)., type: float}
"""

import time  # noqa: E402 (Ansible modules keep their docs first)
from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.tickstock_resp import (  # noqa: E402
    Connection,
    RedisReplyError,
    as_text,
    condition_met,
)


class Failed(Exception):
    """A failure the caller did not allow (allow_errors false)."""


def run(
    p: dict[str, Any], commands: list[list[Any]], allow_errors: bool
) -> tuple[list[Any], list[str | None], list[Any]]:
    """Connect, authenticate, run the commands: replies, errors and pushed messages."""
    replies: list[Any] = [None] * len(commands)
    messages: list[Any] = []
    errors: list[str | None] = [None] * len(commands)
    where = f"{p['host']}:{p['port']}"
    try:
        conn = Connection(p["host"], p["port"], p["timeout"], p["tls"], p["tls_ca"], p["tls_cert"], p["tls_key"])
    except (OSError, ValueError) as exc:
        if not allow_errors:
            raise Failed(f"cannot connect to {where}: {exc}") from None
        return replies, [f"connect: {exc}"] * len(commands), messages
    try:
        if p["password"] is not None:
            auth = ["AUTH", p["user"], p["password"]] if p["user"] else ["AUTH", p["password"]]
            try:
                conn.call(*auth)
            except RedisReplyError as exc:
                if not allow_errors:
                    raise Failed(f"authentication as {p['user'] or 'default'} failed: {exc}") from None
                return replies, [f"auth: {exc}"] * len(commands), messages
        for i, cmd in enumerate(commands):
            try:
                replies[i] = conn.call(*cmd)
            except RedisReplyError as exc:
                if not allow_errors:
                    raise Failed(f"{' '.join(map(str, cmd[:2]))}: {exc}") from None
                errors[i] = str(exc)
        if p["listen_s"] > 0:
            messages = conn.listen(p["listen_s"])
    except OSError as exc:
        if not allow_errors:
            raise Failed(f"connection to {where} failed: {exc}") from None
        errors = [e or f"connection: {exc}" for e in errors]
    finally:
        conn.close()
    return replies, errors, messages


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "required": True},
            "user": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            "commands": {"type": "list", "elements": "raw", "required": True},
            "timeout": {"type": "float", "default": 5.0},
            "allow_errors": {"type": "bool", "default": False},
            "listen_s": {"type": "float", "default": 0.0},
            "wait_s": {"type": "float", "default": 0.0},
            "poll_s": {"type": "float", "default": 0.1},
            "changed_from": {"type": "raw"},
            "error_contains": {"type": "str"},
            "tls": {"type": "bool", "default": False},
            "tls_ca": {"type": "path"},
            "tls_cert": {"type": "path"},
            "tls_key": {"type": "path"},
        },
        mutually_exclusive=[("changed_from", "error_contains")],
        supports_check_mode=True,
    )
    p = module.params
    commands = [c if isinstance(c, list) else str(c).split() for c in p["commands"]]
    waiting = p["wait_s"] > 0
    deadline = time.monotonic() + p["wait_s"]
    try:
        while True:
            replies, errors, messages = run(p, commands, p["allow_errors"] or waiting)
            met = not waiting or condition_met(replies[0], errors[0], p["changed_from"], p["error_contains"])
            if met or time.monotonic() >= deadline:
                break
            time.sleep(p["poll_s"])
    except Failed as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, replies=replies, texts=[as_text(r) for r in replies], errors=errors,
                     messages=messages, met=met, at=time.time())


if __name__ == "__main__":
    main()
