"""What redis-cli prints, as dictionaries.

    tickstock_info    INFO (any section)             -> {"role": "slave", "master_link_status": "up", ...}
    tickstock_pairs   a flat key/value reply          -> {"down-after-milliseconds": "5000", ...}
                      (CONFIG GET, SENTINEL MASTER, SENTINEL CONFIG GET, XINFO GROUPS entries;
                      `--raw` lines or `--json` lists)
    tickstock_reply_text  a tickstock_redis result     -> the text of reply `index` ("" when it
                      failed or was not asked)

Every value comes back as a string, as Redis prints it, so `--raw` and
`--json` output compare equal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

_UTILS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils")
if _UTILS not in sys.path:
    # INFO is parsed once, by the module's client (plugins/module_utils/tickstock_resp.py).
    sys.path.append(_UTILS)

from tickstock_resp import info_replicas  # noqa: E402,F401 (the filters import it from here)
from tickstock_resp import parse_info as _parse_info_text  # noqa: E402


def _items(reply: Any) -> list[Any]:
    """The reply as a list of items: a text is split into lines."""
    if reply is None:
        return []
    if isinstance(reply, str):
        return reply.splitlines()
    if isinstance(reply, Iterable) and not isinstance(reply, Mapping):
        return list(reply)
    raise TypeError(f"expected redis-cli output (text or a list), got {type(reply).__name__}")


def redis_str(value: Any) -> str:
    """A value as Redis prints it: booleans are yes/no, lists are space-separated."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return " ".join(redis_str(v) for v in value)
    return str(value)


def parse_info(text: Any) -> dict[str, str]:
    """INFO output: `key:value` lines; `# Section` headers and blank lines are skipped."""
    if isinstance(text, Mapping):
        return {str(k): redis_str(v) for k, v in text.items()}
    return _parse_info_text("\n".join(str(line) for line in _items(text)))


def parse_pairs(reply: Any) -> dict[str, str]:
    """A flat reply, key and value alternating, as a dict. A mapping is returned as strings.

    An odd number of items means the last value was empty: Ansible strips the
    trailing newlines of a command's output, and with them the empty last
    line of `--raw`. A single line is an error message (ERR, NOAUTH, ...), not
    settings: ValueError.
    """
    if isinstance(reply, Mapping):
        return {str(k): redis_str(v) for k, v in reply.items()}
    items = _items(reply)
    if len(items) == 1:
        raise ValueError(f"not a key/value reply: {str(items[0])[:80]!r}")
    if len(items) % 2:
        items.append("")
    return {str(items[i]): redis_str(items[i + 1]) for i in range(0, len(items), 2)}


def reply_text(result: Any, index: int = 0) -> str:
    """Reply `index` of a registered tickstock_redis result, as redis-cli --raw prints it."""
    if not isinstance(result, Mapping) or result.get("skipped") or result.get("failed"):
        return ""
    texts, errors = result.get("texts") or [], result.get("errors") or []
    if index >= len(texts) or (index < len(errors) and errors[index]):
        return ""
    return str(texts[index])


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_info": parse_info,
            "tickstock_pairs": parse_pairs,
            "tickstock_reply_text": reply_text,
        }
