"""Checks of role variables that meta/argument_specs.yml cannot express.

Each role's tasks/validate.yml hands a list of checks to ``tickstock_invalid``
and fails with the messages it returns, each naming its variable. The rules
are plain functions so that tests/kit/test_checks.py can call
them without Ansible.

A check is ``[variable_name, value, rule, *arguments]``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from engine_facts import engine_rule

# Redis passwords: printable, no control characters (they could not survive
# redis.conf, a systemd EnvironmentFile or redis-cli's environment intact).
PASSWORD_MIN_LENGTH = 16
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENV_NAME = re.compile(r"^(REDIS|TICKSTOCKPL)_[A-Z0-9_]+$")
_SYSTEMD_SIZE = re.compile(r"^([0-9]+[KMGT]?|[0-9]{1,2}%|100%|infinity)$")
_TICKER = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
_IP_ALLOW_KEYWORDS = ("localhost", "link-local", "multicast")
_APT_URI = re.compile(r"https?://[^\s]+")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,252})$")

Rule = Callable[..., str | None]


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    raise ValueError("must be an integer")


def int_range(value: Any, lo: int, hi: int | None = None) -> str | None:
    try:
        n = _as_int(value)
    except ValueError as exc:
        return str(exc)
    if n < lo or (hi is not None and n > hi):
        return f"must be between {lo} and {hi}" if hi is not None else f"must be at least {lo}"
    return None


def port(value: Any) -> str | None:
    return int_range(value, 1, 65535)


def positive(value: Any) -> str | None:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return "must be a number"
    if not 0 < n < 1e9:
        return "must be a positive number"
    return None


def password(value: Any, min_length: int = PASSWORD_MIN_LENGTH) -> str | None:
    if not isinstance(value, str) or value == "":
        return "must be set (an empty password would leave the server open)"
    if _CONTROL.search(value):
        return "must not contain control characters (newline, tab, NUL, ...)"
    if len(value) < min_length:
        return f"must be at least {min_length} characters long"
    return None


def secrets(value: Any, names: Sequence[str]) -> str | None:
    """tickstock_secrets: every name present, each a password or a list of two."""
    if not isinstance(value, Mapping):
        return "must be a mapping of secret names to passwords"
    missing = [n for n in names if n not in value]
    if missing:
        return f"lacks {', '.join(missing)}"
    owner: dict[str, str] = {}
    for name in names:
        item = value[name]
        items = item if isinstance(item, list) else [item]
        if not 1 <= len(items) <= 2:
            return f"{name}: give one password, or a list of two while rotating"
        for pw in items:
            problem = password(pw)
            if problem:
                return f"{name}: {problem}"
            if owner.setdefault(pw, name) != name:
                # Ansible also masks a module's password wherever it appears in
                # the result: CONFIG GET masterauth would never compare equal.
                return (f"{owner[pw]} and {name} share a password: give each its own (one process could "
                        "log in as the other, and the runs would never report 0 changed)")
    return None


def systemd_size(value: Any) -> str | None:
    if not isinstance(value, (str, int)) or not _SYSTEMD_SIZE.match(str(value)):
        return "must be a systemd size such as 512M, 2G, 50% or infinity"
    return None


def host(value: Any) -> str | None:
    """An IP address or a host name (no spaces, no scheme, no port)."""
    if not isinstance(value, str) or not value:
        return "must be an IP address or a host name"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOSTNAME.match(value):
            return "must be an IP address or a host name"
    return None


def hosts(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of IP addresses or host names"
    for item in value:
        if host(item):
            return f"entry {item!r} must be an IP address or a host name"
    return None


def tickers(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "must be a non-empty list of tickers"
    for item in value:
        if not isinstance(item, str) or not _TICKER.match(item):
            return f"ticker {item!r} must be 1-16 upper-case letters, digits, '.' or '-'"
    return None


def pubsub_instances(value: Any) -> str | None:
    if not isinstance(value, list) or len(value) > 64:
        return "must be a list of at most 64 entries like {tickers: [AAPL]} or {}"
    for entry in value:
        if not isinstance(entry, Mapping) or set(entry) - {"tickers"}:
            return f"entry {entry!r} must be a mapping with at most the key tickers"
        if "tickers" in entry and tickers(entry["tickers"]):
            return f"entry {entry!r}: {tickers(entry['tickers'])}"
    return None


def host_ports(value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list of host:port"
    for item in value:
        text = str(item)
        name, sep, number = text.rpartition(":")
        if not sep or host(name.strip("[]")) or port(number):
            return f"entry {text!r} must be host:port with a port from 1 to 65535"
    return None


def env_names(value: Any, reserved: Sequence[str] = ()) -> str | None:
    if not isinstance(value, Mapping):
        return "must be a mapping of environment variable names to values"
    for name, item in value.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            return f"{name!r} is not a REDIS_* or TICKSTOCKPL_* name (upper case, digits, _)"
        if name in reserved:
            return f"{name} is set by the role itself; change its own variable instead"
        if _CONTROL.search(str(item)):
            return f"the value of {name} must not contain control characters"
    return None


def loopback_or_allowed(value: Any, allowed: Any) -> str | None:
    """An address beyond loopback only with an explicit opt-in."""
    if host(value):
        return host(value)
    if value == "localhost" or (_is_ip(value) and ipaddress.ip_address(value).is_loopback):
        return None
    if allowed is True:
        return None
    return "listens beyond loopback; set the matching *_expose variable to true to allow it"


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def quorum(value: Any, sentinels: int) -> str | None:
    bad = int_range(value, 1, max(sentinels, 1))
    if bad:
        return f"{bad} (the number of Sentinels is {sentinels})"
    if _as_int(value) <= sentinels // 2 and sentinels > 1:
        return f"must be a majority of the {sentinels} Sentinels (at least {sentinels // 2 + 1})"
    return None


def choice(value: Any, options: Sequence[Any]) -> str | None:
    if value in options:
        return None
    return "must be one of " + ", ".join(repr(o) for o in options)


def above(value: Any, other: Any, other_name: str) -> str | None:
    try:
        if float(value) > float(other):
            return None
    except (TypeError, ValueError):
        return "must be a number"
    return f"must be above {other_name} ({other})"


def ip_allow(value: Any) -> str | None:
    """Entries for systemd's IPAddressAllow=: addresses, prefixes or localhost/link-local/multicast."""
    if not isinstance(value, list):
        return "must be a list of IP addresses or prefixes"
    for item in value:
        text = str(item)
        if text == "any":
            return "must not contain 'any' (that allows everyone)"
        if text in _IP_ALLOW_KEYWORDS:
            continue
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return f"entry {text!r} must be an IP address, a prefix such as 10.0.0.0/24, or localhost"
    return None


def plain_names(value: Any) -> str | None:
    """Names the exporter takes as one comma-separated option: no commas, no spaces."""
    if not isinstance(value, list):
        return "must be a list of names"
    for item in value:
        if not isinstance(item, str) or not item or re.search(r"[,\s]", item):
            return f"entry {item!r} must be a non-empty name without commas or spaces"
    return None


def abs_path(value: Any) -> str | None:
    if not isinstance(value, str) or not value.startswith("/") or re.search(r"\s", value):
        return "must be an absolute path without spaces"
    return None


def duration(value: Any) -> str | None:
    """A Prometheus duration such as 15s, 1m30s or 15d."""
    if not isinstance(value, str) or not _DURATION.match(value):
        return "must be a Prometheus duration such as 15s, 1m or 15d"
    return None


def networks(value: Any) -> str | None:
    """IP addresses or prefixes (the consumer's TICKSTOCKPL_HTTP_ALLOW)."""
    if not isinstance(value, list):
        return "must be a list of IP addresses or prefixes"
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            return f"entry {item!r} must be an IP address or a prefix such as 10.0.0.0/24"
    return None


def apt_uri(value: Any) -> str | None:
    """An http(s) mirror URI for an apt sources file (one line: nothing could be injected after it)."""
    if not isinstance(value, str) or not _APT_URI.fullmatch(value):
        return "must be an http:// or https:// URI without spaces, such as http://deb.debian.org/debian"
    return None


RULES: dict[str, Rule] = {
    "int_range": int_range,
    "port": port,
    "positive": positive,
    "password": password,
    "secrets": secrets,
    "systemd_size": systemd_size,
    "host": host,
    "hosts": hosts,
    "host_ports": host_ports,
    "tickers": tickers,
    "pubsub_instances": pubsub_instances,
    "env_names": env_names,
    "loopback_or_allowed": loopback_or_allowed,
    "quorum": quorum,
    "above": above,
    "choice": choice,
    "ip_allow": ip_allow,
    "networks": networks,
    "plain_names": plain_names,
    "abs_path": abs_path,
    "duration": duration,
    "engine": engine_rule,
    "apt_uri": apt_uri,
}


def _shown(name: str, value: Any) -> str:
    if "password" in name or "secret" in name:
        return ""
    text = repr(value)
    return f" (got {text[:60]})"


def tickstock_invalid(checks: Sequence[Sequence[Any]]) -> list[str]:
    """Messages for the checks that fail, each starting with the variable's name."""
    out: list[str] = []
    for check in checks:
        name, value, rule, *args = check
        problem = RULES[rule](value, *args)
        if problem:
            out.append(f"{name}: {problem}{_shown(name, value)}")
    return out


def tickstock_redis_quote(value: str) -> str:
    """A string as redis.conf / sentinel.conf read it back unchanged (sdssplitargs)."""
    out = ['"']
    for ch in value:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def tickstock_disagreements(hosts: Sequence[str], hostvars: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """One message per contract variable whose value differs between hosts."""
    out = []
    for name in names:
        seen: dict[str, list[str]] = {}
        for h in hosts:
            seen.setdefault(repr(hostvars[h].get(name)), []).append(h)
        if len(seen) > 1:
            detail = "; ".join(f"{v} on {', '.join(hs)}" for v, hs in sorted(seen.items()))
            out.append(f"{name} differs between hosts ({detail}): set it in group_vars/all, not for one group")
    return out


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "tickstock_invalid": tickstock_invalid,
            "tickstock_redis_quote": tickstock_redis_quote,
            "tickstock_disagreements": tickstock_disagreements,
        }
