"""One variable of several hosts, for hosts that may not have it.

    hostvars | tickstock_collect(hosts, name) -> {host: value, or None}

`map('extract', hostvars, name)` fails on the first host without the
variable (unreachable, skipped); this gives None for it instead, so a table
can say "unreachable" and a check can count who answered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def collect(hostvars: Mapping[str, Any], hosts: Iterable[str], name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for host in hosts:
        host_vars = hostvars.get(host)
        out[host] = host_vars.get(name) if isinstance(host_vars, Mapping) else None
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_collect": collect}
