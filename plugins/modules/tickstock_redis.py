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
"""

from typing import Any  # noqa: E402 (Ansible modules keep their docs first)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.tickstock_resp import Connection, RedisReplyError, as_text  # noqa: E402


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
            "tls": {"type": "bool", "default": False},
            "tls_ca": {"type": "path"},
            "tls_cert": {"type": "path"},
            "tls_key": {"type": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    commands = [c if isinstance(c, list) else str(c).split() for c in p["commands"]]
    replies: list[Any] = [None] * len(commands)
    messages: list[Any] = []
    errors: list[str | None] = [None] * len(commands)
    try:
        conn = Connection(p["host"], p["port"], p["timeout"], p["tls"], p["tls_ca"], p["tls_cert"], p["tls_key"])
    except (OSError, ValueError) as exc:
        if not p["allow_errors"]:
            module.fail_json(msg=f"cannot connect to {p['host']}:{p['port']}: {exc}")
        module.exit_json(changed=False, replies=replies, texts=[""] * len(commands),
                         errors=[f"connect: {exc}"] * len(commands))
        return
    try:
        if p["password"] is not None:
            auth = ["AUTH", p["user"], p["password"]] if p["user"] else ["AUTH", p["password"]]
            try:
                conn.call(*auth)
            except RedisReplyError as exc:
                if not p["allow_errors"]:
                    module.fail_json(msg=f"authentication as {p['user'] or 'default'} failed: {exc}")
                module.exit_json(changed=False, replies=replies, texts=[""] * len(commands),
                                 errors=[f"auth: {exc}"] * len(commands))
                return
        for i, cmd in enumerate(commands):
            try:
                replies[i] = conn.call(*cmd)
            except RedisReplyError as exc:
                if not p["allow_errors"]:
                    module.fail_json(msg=f"{' '.join(map(str, cmd[:2]))}: {exc}", replies=replies)
                errors[i] = str(exc)
        if p["listen_s"] > 0:
            messages = conn.listen(p["listen_s"])
    except OSError as exc:
        if not p["allow_errors"]:
            module.fail_json(msg=f"connection to {p['host']}:{p['port']} failed: {exc}")
        errors = [e or f"connection: {exc}" for e in errors]
    finally:
        conn.close()
    module.exit_json(changed=False, replies=replies, texts=[as_text(r) for r in replies], errors=errors,
                     messages=messages)


if __name__ == "__main__":
    main()
