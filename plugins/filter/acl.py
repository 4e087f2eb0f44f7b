"""ACL users: password hashes, the current password, and the state fingerprint.

    tickstock_acl_hashes(secret)   -> "#<sha256> [#<sha256>]"   as ACL rules
    tickstock_current(secret)      -> the password clients use now
    tickstock_acl_setuser(users, secrets, prefix[, default_rules]) -> ACL SETUSER commands
    tickstock_password_files(logins, secrets, sentinel_user, groups) -> the clients' password files

A secret is one password, or a list of two while it is rotated: the server
accepts every password of the list, clients use the first. That is how a
rotation goes without downtime (playbooks/rotate-passwords.yml): [old, new],
then [new, old], then new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def _passwords(secret: Any) -> list[str]:
    if isinstance(secret, str):
        return [secret]
    if isinstance(secret, list) and 1 <= len(secret) <= 2 and all(isinstance(p, str) for p in secret):
        return list(secret)
    raise ValueError("a secret is a password or a list of at most two passwords")


def acl_hashes(secret: Any) -> str:
    return " ".join("#" + hashlib.sha256(p.encode()).hexdigest() for p in _passwords(secret))


def current(secret: Any) -> str:
    return _passwords(secret)[0]


def acl_setuser(
    users: Mapping[str, str], secrets: Mapping[str, Any], prefix: str, default_rules: str = ""
) -> list[list[str]]:
    """ACL SETUSER for every user (password hashes from secrets[prefix + name]).

    "default" is always off: no client can log in as it. default_rules only
    gives it permissions (see redis_server's vars/main.yml for why).
    """
    cmds = [["ACL", "SETUSER", "default", "reset", "off", *default_rules.split()]]
    for name in sorted(users):
        rules = users[name].split()
        hashes = acl_hashes(secrets[prefix + name]).split()
        cmds.append(["ACL", "SETUSER", name, "reset", "on", *hashes, *rules])
    return cmds


def rotation(secrets: Mapping[str, Any], new: Mapping[str, str], phase: str) -> dict[str, Any]:
    """tickstock_secrets for one phase of a rotation to the passwords in `new`.

    accept: servers accept old and new, clients keep the old ([old, new]);
    switch: clients move to the new, servers still accept the old ([new, old]);
    finish: only the new ones.
    """
    unknown = sorted(set(new) - set(secrets))
    if unknown:
        raise ValueError(f"tickstock_secrets has no {', '.join(unknown)}")
    out = dict(secrets)
    for name, password in new.items():
        old = current(secrets[name])
        if phase == "accept":
            out[name] = [old, password]
        elif phase == "switch":
            out[name] = [password, old]
        elif phase == "finish":
            out[name] = password
        else:
            raise ValueError(f"unknown rotation phase {phase!r}")
    return out


def acl_users(acl_list: Any) -> list[str]:
    """The user names of an ACL LIST reply ("user <name> ...")."""
    return [line.split()[1] for line in (acl_list or []) if str(line).startswith("user ")]


def password_files(
    logins: Mapping[str, str], secrets: Mapping[str, Any], sentinel_user: str, groups: Mapping[str, str]
) -> list[dict[str, str]]:
    """The password files of the client logins {login: ACL user}: for each, <login>.password (its Redis
    user's current password) and <login>-sentinel.password (the Sentinel user's), both owned by the
    login's own service group (root for a login without one), so no login can read another's."""
    sentinel = current(secrets["sentinel_" + sentinel_user])
    out = []
    for login, user in logins.items():
        group = groups.get(login) or "root"
        out.append({"name": f"{login}.password", "login": login, "group": group,
                    "password": current(secrets["redis_" + user])})
        out.append({"name": f"{login}-sentinel.password", "login": login, "group": group, "password": sentinel})
    return out


def acl_extra(acl_list: Any, users: Mapping[str, Any]) -> list[str]:
    """Users the server has and nobody declared ("default" is always declared)."""
    return sorted(set(acl_users(acl_list)) - set(users) - {"default"})


def acl_missing(acl_list: Any, users: Mapping[str, Any]) -> list[str]:
    """Declared users the server does not have."""
    return sorted((set(users) | {"default"}) - set(acl_users(acl_list)))


def acl_deluser(name: str) -> list[str]:
    return ["ACL", "DELUSER", name]


def fingerprint(value: Any) -> str:
    """A stable hash of any JSON-able value (desired users, an ACL LIST reply)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_acl_hashes": acl_hashes,
            "tickstock_current": current,
            "tickstock_acl_setuser": acl_setuser,
            "tickstock_fingerprint": fingerprint,
            "tickstock_rotation": rotation,
            "tickstock_acl_users": acl_users,
            "tickstock_acl_deluser": acl_deluser,
            "tickstock_acl_extra": acl_extra,
            "tickstock_password_files": password_files,
            "tickstock_acl_missing": acl_missing,
        }
