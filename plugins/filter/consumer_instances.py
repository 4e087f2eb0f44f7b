"""The consumer instances of a host: id, mode, tickers and HTTP port; their files; what to restart.

    tickstock_consumer_instances(ids, pubsub, port_base)
    tickstock_consumer_files(ids, logins, password_files, config_dir, secrets_dir, publisher)
    tickstock_consumer_restarts(changed_tags, ids, was_running, package_changed)
    tickstock_publisher_restart(changed_tags, package_changed)
    tickstock_consumer_reload(changed_tags)
    tickstock_consumer_units(ids, tickstock_host read)
    tickstock_consumer_unit_names(ids)
    tickstock_consumer_removed(paths, ids)
    tickstock_consumer_other_wheelhouses(dirs, release)

Instances below PUBSUB_FIRST read the stream; PUBSUB_FIRST + k is the pub/sub
subscriber of pubsub[k] ({"tickers": [...]}, or {} for tickstock.all_ticks).
Instance N listens on port_base + N - 1.

Each file's tag names who reads it: ALL (every process), CONSUMERS (every
instance), "instance:N" (one), PUBLISHER, or NOBODY (the drill login, the
directories). A changed *_UNIT tag also means a systemd reload.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from host_state import unit_up

PUBSUB_FIRST = 101


def instances(ids: Iterable[int], pubsub: Sequence[Mapping[str, Any]], port_base: int) -> list[dict[str, Any]]:
    out = []
    for i in ids:
        n = int(i)
        entry = pubsub[n - PUBSUB_FIRST] if n >= PUBSUB_FIRST else None
        out.append({
            "id": n,
            "mode": "stream" if entry is None else "pubsub",
            "tickers": list((entry or {}).get("tickers") or []),
            "port": int(port_base) + n - 1,
        })
    return out


ALL, CONSUMERS, PUBLISHER, NOBODY = "all", "consumers", "publisher", "nobody"
CONSUMERS_UNIT, PUBLISHER_UNIT = "consumers-unit", "publisher-unit"
READERS = {"consumer": CONSUMERS, "publisher": PUBLISHER}
SYSTEMD = "/etc/systemd/system"


def files(
    ids: Iterable[str],
    logins: Mapping[str, str],
    password_files: Iterable[Mapping[str, str]],
    config_dir: str,
    secrets_dir: str,
    publisher: bool,
) -> list[dict[str, Any]]:
    """The entries for the module tickstock_files, in the order they must be written."""
    secret = {"owner": "root", "group": "root", "mode": "0600", "secret": True}
    out: list[dict[str, Any]] = [
        {"path": config_dir, "state": "directory", "mode": "0700", "tag": NOBODY},
        {"path": f"{config_dir}/tickstockpl.env", "template": "tickstockpl.env.j2", "tag": ALL, **secret},
    ]
    out += [
        {"path": f"{config_dir}/{login}.env", "template": "login.env.j2",
         "vars": {"item": {"key": login, "value": user}}, "tag": READERS.get(login, NOBODY), **secret}
        for login, user in logins.items()
    ]
    out.append({"path": secrets_dir, "state": "directory", "mode": "0711", "tag": NOBODY})
    out += [
        {"path": f"{secrets_dir}/{f['name']}", "content": f"{f['password']}\n", "owner": "root", "group": f["group"],
         "mode": "0640", "secret": True, "tag": READERS.get(f["login"], NOBODY)}
        for f in password_files
    ]
    # Before each login had its own, one sentinel.password was shared by all.
    out.append({"path": f"{secrets_dir}/sentinel.password", "state": "absent", "tag": NOBODY})
    out += [
        {"path": f"{config_dir}/instance-{i}.env", "template": "instance.env.j2", "vars": {"item": str(i)},
         "mode": "0600", "tag": f"instance:{i}"}
        for i in ids
    ]
    out.append({"path": f"{SYSTEMD}/tickstockpl@.service", "template": "tickstockpl@.service.j2", "mode": "0644",
                "tag": CONSUMERS_UNIT})
    if publisher:
        out.append({"path": f"{SYSTEMD}/tickstockpl-publisher.service", "template": "tickstockpl-publisher.service.j2",
                    "mode": "0644", "tag": PUBLISHER_UNIT})
    return out


def removed(paths: Iterable[str], ids: Iterable[Any]) -> list[str]:
    """The ids of instances that have a unit link or an environment file on the host but are no longer wanted."""
    found = set()
    for path in paths:
        match = re.fullmatch(r"(?:tickstockpl@|instance-)([0-9]+)\.(?:service|env)", path.rsplit("/", 1)[-1])
        if match:
            found.add(match.group(1))
    return sorted(found - {str(i) for i in ids})


def other_wheelhouses(dirs: Iterable[str], release: str) -> list[str]:
    """The wheelhouse directories of releases other than this one (a glob of dir/*/ gives trailing slashes)."""
    return [d.rstrip("/") for d in dirs if d.rstrip("/").rsplit("/", 1)[-1] != release]


def restarts(
    changed_tags: Iterable[str], ids: Sequence[str], was_running: Iterable[str], package_changed: bool
) -> list[str]:
    """The instances to restart one at a time, in id order: those running before this run that
    read a changed file (or all of them after a new package or certificates)."""
    tags = set(changed_tags)
    every = package_changed or bool(tags & {ALL, CONSUMERS, CONSUMERS_UNIT})
    running = {str(i) for i in was_running}
    wanted = [str(i) for i in ids if every or f"instance:{i}" in tags]
    return sorted((i for i in wanted if i in running), key=int)


def publisher_restart(changed_tags: Iterable[str], package_changed: bool) -> bool:
    return package_changed or bool(set(changed_tags) & {ALL, PUBLISHER, PUBLISHER_UNIT})


def reload(changed_tags: Iterable[str]) -> bool:
    """systemd must reload: this run wrote the consumers' or the publisher's unit."""
    return bool(set(changed_tags) & {CONSUMERS_UNIT, PUBLISHER_UNIT})


PUBLISHER_SERVICE = "tickstockpl-publisher.service"


def _unit(instance_id: Any) -> str:
    return f"tickstockpl@{instance_id}.service"


def unit_names(ids: Iterable[Any]) -> list[str]:
    """The units of the instances, then the publisher's: what the role reads the state of."""
    return [_unit(i) for i in ids] + [PUBLISHER_SERVICE]


RUNNING = ("active", "reloading", "activating")


def units(ids: Iterable[str], read: Mapping[str, Any]) -> dict[str, list[str]]:
    """The instances' state from a tickstock_host read ({"units": {unit: {ActiveState, UnitFileState}}}):
    those running (restart candidates), those active, and those to enable or start (not both active
    and enabled: host_state.unit_up, the test the Redis roles use). One read instead of one module run each."""
    by_unit = read.get("units") or {}
    out: dict[str, list[str]] = {"running": [], "active": [], "to_start": []}
    for i in ids:
        state = by_unit.get(_unit(i), {}).get("ActiveState", "")
        if state in RUNNING:
            out["running"].append(str(i))
        if state == "active":
            out["active"].append(str(i))
        if not unit_up(read, _unit(i)):
            out["to_start"].append(str(i))
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_consumer_instances": instances,
            "tickstock_consumer_files": files,
            "tickstock_consumer_restarts": restarts,
            "tickstock_publisher_restart": publisher_restart,
            "tickstock_consumer_reload": reload,
            "tickstock_consumer_units": units,
            "tickstock_consumer_unit_names": unit_names,
            "tickstock_consumer_removed": removed,
            "tickstock_consumer_other_wheelhouses": other_wheelhouses,
        }
