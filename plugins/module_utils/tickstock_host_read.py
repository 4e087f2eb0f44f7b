"""What a host has already, read in one module run (tickstock_host).

A re-run is mostly checks that find nothing to do, and each check that is a
module task costs a module run per host. The roles read here once which
packages, accounts, units and paths there are, and skip the tasks that would
find nothing to change; the tasks themselves still do every change.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
from collections.abc import Iterable
from typing import Any

# dpkg-query's format: one line a package (a missing one prints nothing on stdout).
DPKG_FORMAT = "${Package}\t${db:Status-Status}\t${Version}\n"
UNIT_PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState")


def parse_dpkg(output: str) -> dict[str, str]:
    """{package: version} of the installed ones; a removed package keeps a line, with another status."""
    installed: dict[str, str] = {}
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[1] == "installed":
            installed[fields[0]] = fields[2]
    return installed


def parse_units(output: str) -> dict[str, dict[str, str]]:
    """{unit: {property: value}} from `systemctl show --property=Id,...` of several units."""
    units: dict[str, dict[str, str]] = {}
    for block in output.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def accounts(users: Iterable[str], groups: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The users (with their primary group's name) and groups that exist, from the account databases."""
    found_users: dict[str, dict[str, Any]] = {}
    for name in users:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        try:
            group = grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            group = str(pw.pw_gid)
        found_users[name] = {"uid": pw.pw_uid, "group": group, "home": pw.pw_dir, "shell": pw.pw_shell,
                             "comment": pw.pw_gecos}
    found_groups: dict[str, dict[str, Any]] = {}
    for name in groups:
        try:
            found_groups[name] = {"gid": grp.getgrnam(name).gr_gid}
        except KeyError:
            continue
    return {"users": found_users, "groups": found_groups}


def paths(names: Iterable[str]) -> dict[str, bool]:
    """{path: exists} (a dangling link counts as missing, as stat would say)."""
    return {p: os.path.exists(p) for p in names}


def globs(patterns: Iterable[str]) -> dict[str, list[str]]:
    """{pattern: sorted matches}; a pattern ending in / matches directories only."""
    return {p: sorted(glob.glob(p)) for p in patterns}
