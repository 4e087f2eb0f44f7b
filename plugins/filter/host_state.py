"""Decisions on a tickstock_host read: which install, start or account task has work to do.

    read | tickstock_packages_missing(wanted) -> [packages not installed]
    reads | tickstock_installed(package) -> its version in the newest read that has packages, or ''
    read | tickstock_unit_up(unit) -> active and enabled
    read | tickstock_groups_missing(names) -> [groups that do not exist]
    read | tickstock_user_differs(name, group, home, shell, comment) -> the user module would change it

A read that lacks the key (a skipped task) counts as "nothing there", so the
task runs: a wrong guess costs a module run, never a missed change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def _part(read: Any, key: str) -> Mapping[str, Any]:
    part = read.get(key) if isinstance(read, Mapping) else None
    return part if isinstance(part, Mapping) else {}


def packages_missing(read: Any, wanted: Iterable[str]) -> list[str]:
    installed = _part(read, "packages")
    return [p for p in wanted if p not in installed]


def installed(reads: Sequence[Any], package: str) -> str:
    for read in reversed(reads):
        if isinstance(read, Mapping) and isinstance(read.get("packages"), Mapping):
            return str(read["packages"].get(package, ""))
    return ""


def unit_up(read: Any, unit: str) -> bool:
    props = _part(read, "units").get(unit)
    return isinstance(props, Mapping) and props.get("ActiveState") == "active" \
        and props.get("UnitFileState") == "enabled"


def groups_missing(read: Any, names: Iterable[str]) -> list[str]:
    found = _part(read, "groups")
    return [n for n in names if n not in found]


def user_differs(read: Any, name: str, group: str, home: str, shell: str, comment: str) -> bool:
    user = _part(read, "users").get(name)
    if not isinstance(user, Mapping):
        return True
    wanted = {"group": group, "home": home, "shell": shell, "comment": comment}
    return any(user.get(k) != v for k, v in wanted.items())


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_packages_missing": packages_missing,
            "tickstock_installed": installed,
            "tickstock_unit_up": unit_up,
            "tickstock_groups_missing": groups_missing,
            "tickstock_user_differs": user_differs,
        }
