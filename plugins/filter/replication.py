"""Who is master, decided from what the Sentinels and the servers say.

    tickstock_current_master(sentinel_results, role_results, addresses, bootstrap)

`sentinel_results` / `role_results` are the `.results` of looped tasks
(tickstock_redis or redis-cli) running SENTINEL get-master-addr-by-name / ROLE; `addresses` maps inventory
host -> address; `bootstrap` is the address of the inventory's bootstrap
master. In order: the Sentinels' majority answer; else the one deployed
server that says it is master; else the bootstrap master on a brand new set.
Several servers claiming master with no Sentinel to settle it: "AMBIGUOUS".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

AMBIGUOUS = "AMBIGUOUS"


def _lines(result: Mapping[str, Any]) -> list[str]:
    """The first reply's words: a tickstock_redis result, or a command's stdout lines."""
    if result.get("skipped"):
        return []
    if "replies" in result:
        reply = (result.get("replies") or [None])[0]
        if isinstance(reply, list):
            return [str(x) for x in reply if not isinstance(x, list)]
        return [] if reply is None else [str(reply)]
    if result.get("rc") != 0:
        return []
    return [str(line) for line in result.get("stdout_lines") or []]


def current_master(
    sentinel_results: Sequence[Mapping[str, Any]],
    role_results: Sequence[Mapping[str, Any]],
    addresses: Mapping[str, str],
    bootstrap: str,
) -> str:
    votes = Counter(lines[0] for r in sentinel_results if (lines := _lines(r)))
    if votes:
        # Most votes; ties go to the first answer, as Counter keeps insertion order.
        return votes.most_common(1)[0][0]
    masters = [addresses[r["item"]] for r in role_results if _lines(r)[:1] == ["master"]]
    if len(masters) == 1:
        return masters[0]
    if not masters:
        return bootstrap
    return AMBIGUOUS


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_current_master": current_master}
