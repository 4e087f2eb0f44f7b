"""The server engine, Redis or Valkey: everything that differs between them, in one table.

    tickstock_engine_name | tickstock_engine_facts -> {packages, units, paths, user, CLI, ...}
    dpkg_version | tickstock_engine_version -> "8.1.1"
    engine_facts | tickstock_engine_options(version) -> {option: value} the installed version has
    engine_facts | tickstock_engine_suite(release) -> "bookworm-backports" for Valkey on Debian 12, else ""
    ansible_local | tickstock_engine_switch(engine_facts, deployments) -> [why this run must not go on]
    acl_users | tickstock_engine_acl_users(engine_facts, version, replication_user) -> the users, with
        what those options need added to the replication user's rules

The facts are what Debian's packages install, read from the .debs themselves
(`dpkg -c`, the units and maintainer scripts): Debian 12's redis 7.0.15 and
Debian 13's valkey-server / valkey-sentinel / valkey-tools 8.1.1. Valkey's
packages ship no redis-named binaries, units or paths (there is no
compatibility package), so every name the roles use comes from here.

The options are settings a newer server has and the kit turns on where it finds
that version (redis_server_rdb_channel): a full sync streams the RDB over a
connection of its own, so the replica keeps receiving the master's live
writes meanwhile and a rejoining old master catches up sooner. Each was checked
on the real binary, with the kit's replication ACL user; Redis 7.0 has none of
them, so its configuration and its users stay as they were.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def _facts(name: str, server_conf: str) -> dict[str, Any]:
    """The layout of Debian's packages for one engine (the same pattern for both)."""
    conf_dir = f"/etc/{name}"
    log_dir = f"/var/log/{name}"
    return {
        "name": name,
        # apt packages: the server and Sentinel each with the CLI.
        "server_packages": [f"{name}-server", f"{name}-tools"],
        "sentinel_packages": [f"{name}-sentinel", f"{name}-tools"],
        "server_package": f"{name}-server",
        # systemd units (without .service) and the binaries they run.
        "server_unit": f"{name}-server",
        "sentinel_unit": f"{name}-sentinel",
        "server_bin": f"/usr/bin/{name}-server",
        "sentinel_bin": f"/usr/bin/{name}-sentinel",
        "cli": f"{name}-cli",
        # The system account the packages create and the units run as.
        "user": name,
        "group": name,
        "conf_dir": conf_dir,
        "server_conf": f"{conf_dir}/{server_conf}",
        "sentinel_conf": f"{conf_dir}/sentinel.conf",
        "tls_dir": f"{conf_dir}/tls",
        "data_dir": f"/var/lib/{name}",
        "log_dir": log_dir,
        "server_log": f"{log_dir}/{name}-server.log",
        "sentinel_log": f"{log_dir}/{name}-sentinel.log",
        # RuntimeDirectory= of the units: /run/<name> for the server, /run/sentinel for Sentinel.
        "server_pid": f"/run/{name}/{name}-server.pid",
        "sentinel_pid": f"/run/sentinel/{name}-sentinel.pid",
        # INFO server names the version so.
        "version_field": f"{name}_version",
    }


ENGINES: dict[str, dict[str, Any]] = {
    "redis": _facts("redis", "redis.conf"),
    "valkey": _facts("valkey", "valkey.conf"),
}

# (engine, first version that has it, setting, value as CONFIG GET prints it,
# what the replication user must be allowed in addition). Checked on Debian's
# binaries: Valkey 8.0.1 (bookworm-backports) and 8.1.1 (trixie) take
# dual-channel-replication-enabled; with it a replica opens its RDB channel
# with SYNC, so without +sync for the replication user every full sync failed
# (-NOPERM, the replica stayed down: molecule/valkey). Redis 8.0.2 takes
# repl-rdb-channel too, but what its RDB channel asks of the replication user
# is not checked yet, so it is not listed. Redis 7.0.15 has neither.
OPTIONS: list[tuple[str, tuple[int, int], str, str, str]] = [
    ("valkey", (8, 0), "dual-channel-replication-enabled", "yes", "+sync"),
]

# Where Debian carries an engine outside a release's own suites: Valkey is in
# Debian 13, and in Debian 12 only in bookworm-backports (8.0.1, the same
# layout as 13's packages: checked with dpkg -L).
SUITES: dict[tuple[str, str], str] = {("valkey", "bookworm"): "bookworm-backports"}

_VERSION = re.compile(r"^(?:[0-9]+:)?([0-9]+)\.([0-9]+)(?:\.([0-9]+))?")


def engine_facts(name: Any) -> dict[str, Any]:
    """The facts of engine `name`; an unknown name is an error (tasks/validate.yml names the variable first)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}: one of {', '.join(sorted(ENGINES))}")
    return dict(ENGINES[name])


def engine_version(dpkg_version: Any) -> str:
    """'5:7.0.15-1~deb12u10' -> '7.0.15', '8.1.1+dfsg1-3+deb13u3' -> '8.1.1'; '' when not a version."""
    match = _VERSION.match(str(dpkg_version or "").strip())
    if not match:
        return ""
    return ".".join(part for part in match.groups() if part is not None)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")) if version else ()


def _applicable(facts: Mapping[str, Any], version: Any) -> list[tuple[str, tuple[int, int], str, str, str]]:
    have = _version_tuple(engine_version(version))
    if not have:
        return []
    return [opt for opt in OPTIONS if opt[0] == facts.get("name") and have[:2] >= opt[1]]


def engine_options(facts: Mapping[str, Any], version: Any) -> dict[str, str]:
    """The OPTIONS the engine has at this version ({} for an unknown or empty version)."""
    return {setting: value for _, _, setting, value, _ in _applicable(facts, version)}


def engine_acl_users(users: Mapping[str, str], facts: Mapping[str, Any], version: Any, replication_user: str,
                     enabled: bool = True) -> dict[str, str]:
    """The ACL users with what the applicable OPTIONS need added to the replication user's rules.

    Unchanged (the same dict contents) when no option applies or `enabled` is false, so
    a Redis 7.0 tier keeps its users.acl as it was.
    """
    extra = [rules for _, _, _, _, rules in _applicable(facts, version) if rules] if enabled else []
    out = dict(users)
    if extra and replication_user in out:
        out[replication_user] = " ".join([str(out[replication_user]), *extra])
    return out


def engine_suite(facts: Mapping[str, Any], release: Any) -> str:
    """The apt suite the engine's packages come from on this Debian release; '' for the release's own."""
    return SUITES.get((str(facts.get("name")), str(release)), "")


def engine_switch(local: Any, facts: Mapping[str, Any], deployments: Any) -> list[str]:
    """Why a run must stop before it changes the engine of a deployed host: one line per deployment, [] to go on.

    `local` is the host's local facts (ansible_local); `deployments` names the
    roles' facts to compare (redis_server, redis_sentinel). A new engine would
    start beside the old one on the same port, and empty: the migration
    (playbooks/rolling-restart.yml -e drill_rolling_action=migrate) moves a tier
    one host at a time under load instead, setting each old fact aside. A fact
    without an engine is from a release that did not record it: nothing to compare.
    """
    want = facts.get("name")
    out = []
    for name in deployments or []:
        fact = local.get(name) if isinstance(local, Mapping) else None
        have = fact.get("engine") if isinstance(fact, Mapping) and fact.get("deployed") else None
        if have and have != want:
            out.append(
                f"tickstock_engine_name is {want!r}, but {name} was deployed here with {have!r} and still runs it."
                f" A deployed tier changes engine only through the migration: ansible-playbook"
                f" playbooks/rolling-restart.yml -e drill_rolling_action=migrate -e drill_migrate_engine={want}"
                f" (README \"Moving from Redis to Valkey\"); until it has run on every host,"
                f" keep tickstock_engine_name {have!r}."
            )
    return out


def engine_rule(value: Any) -> str | None:
    """tickstock_invalid's rule "engine": one of the engines of the table."""
    if value in ENGINES:
        return None
    return "must be one of " + ", ".join(repr(n) for n in sorted(ENGINES))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_engine_facts": engine_facts,
            "tickstock_engine_version": engine_version,
            "tickstock_engine_options": engine_options,
            "tickstock_engine_acl_users": engine_acl_users,
            "tickstock_engine_suite": engine_suite,
            "tickstock_engine_switch": engine_switch,
        }
