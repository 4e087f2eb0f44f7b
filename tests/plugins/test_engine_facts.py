from __future__ import annotations

import pytest
from engine_facts import (
    ENGINES,
    engine_acl_users,
    engine_facts,
    engine_options,
    engine_rule,
    engine_suite,
    engine_switch,
    engine_version,
)
from tickstock_checks import tickstock_invalid


def test_redis_is_debian_12_layout() -> None:
    # The names the roles used before there was a choice: a Redis tier must not change.
    f = engine_facts("redis")
    assert f["server_packages"] == ["redis-server", "redis-tools"]
    assert f["sentinel_packages"] == ["redis-sentinel", "redis-tools"]
    assert (f["server_unit"], f["sentinel_unit"]) == ("redis-server", "redis-sentinel")
    assert f["server_bin"] == "/usr/bin/redis-server"
    assert (f["server_conf"], f["sentinel_conf"]) == ("/etc/redis/redis.conf", "/etc/redis/sentinel.conf")
    assert (f["data_dir"], f["tls_dir"]) == ("/var/lib/redis", "/etc/redis/tls")
    assert f["server_log"] == "/var/log/redis/redis-server.log"
    assert f["sentinel_log"] == "/var/log/redis/redis-sentinel.log"
    assert f["server_pid"] == "/run/redis/redis-server.pid"
    assert f["sentinel_pid"] == "/run/sentinel/redis-sentinel.pid"
    assert (f["user"], f["group"], f["cli"]) == ("redis", "redis", "redis-cli")


def test_valkey_is_what_debian_13_packages_install() -> None:
    # valkey-server/-sentinel/-tools 8.1.1+dfsg1-3: units, ExecStart, PIDFile, User= and postinst.
    f = engine_facts("valkey")
    assert f["server_packages"] == ["valkey-server", "valkey-tools"]
    assert f["sentinel_packages"] == ["valkey-sentinel", "valkey-tools"]
    assert (f["server_unit"], f["sentinel_unit"]) == ("valkey-server", "valkey-sentinel")
    assert (f["server_bin"], f["sentinel_bin"]) == ("/usr/bin/valkey-server", "/usr/bin/valkey-sentinel")
    assert (f["server_conf"], f["sentinel_conf"]) == ("/etc/valkey/valkey.conf", "/etc/valkey/sentinel.conf")
    assert f["data_dir"] == "/var/lib/valkey"
    assert f["server_pid"] == "/run/valkey/valkey-server.pid"
    assert f["sentinel_pid"] == "/run/sentinel/valkey-sentinel.pid"
    assert (f["user"], f["group"], f["cli"]) == ("valkey", "valkey", "valkey-cli")


def test_facts_are_a_copy() -> None:
    engine_facts("redis")["user"] = "x"
    assert ENGINES["redis"]["user"] == "redis"


def test_unknown_engine() -> None:
    with pytest.raises(ValueError, match="unknown engine 'keydb'"):
        engine_facts("keydb")


@pytest.mark.parametrize(
    ("dpkg", "version"),
    [
        ("5:7.0.15-1~deb12u10", "7.0.15"),
        ("5:8.0.2-3+deb13u3", "8.0.2"),
        ("8.1.1+dfsg1-3+deb13u3", "8.1.1"),
        ("8.0.1+dfsg1-1~bpo12+1", "8.0.1"),
        ("", ""),
        (None, ""),
        ("not-a-version", ""),
    ],
)
def test_version_from_dpkg(dpkg: str | None, version: str) -> None:
    assert engine_version(dpkg) == version


@pytest.mark.parametrize(
    ("engine", "dpkg", "options"),
    [
        ("redis", "5:7.0.15-1~deb12u10", {}),
        # Redis 8.0's repl-rdb-channel: not until its replication ACL needs are checked.
        ("redis", "5:8.0.2-3+deb13u3", {}),
        ("valkey", "8.0.1+dfsg1-1~bpo12+1", {"dual-channel-replication-enabled": "yes"}),
        ("valkey", "8.1.1+dfsg1-3+deb13u3", {"dual-channel-replication-enabled": "yes"}),
        ("valkey", "7.2.5", {}),
        ("valkey", "", {}),
    ],
)
def test_options_only_where_the_version_has_them(engine: str, dpkg: str, options: dict[str, str]) -> None:
    assert engine_options(engine_facts(engine), dpkg) == options


def test_rule_names_the_variable() -> None:
    assert engine_rule("valkey") is None
    assert tickstock_invalid([["tickstock_engine_name", "keydb", "engine"]]) == [
        "tickstock_engine_name: must be one of 'redis', 'valkey' (got 'keydb')"
    ]


USERS = {"admin": "~* +@all", "replication": "-@all +psync +replconf +ping"}


def test_valkey_dual_channel_lets_the_replication_user_sync() -> None:
    # Its RDB channel starts with SYNC: without +sync every full sync failed with NOPERM.
    users = engine_acl_users(USERS, engine_facts("valkey"), "8.1.1+dfsg1-3+deb13u3", "replication")
    assert users == {"admin": "~* +@all", "replication": "-@all +psync +replconf +ping +sync"}


@pytest.mark.parametrize(
    ("engine", "dpkg", "enabled"),
    [("redis", "5:7.0.15-1~deb12u10", True), ("redis", "5:8.0.2-3+deb13u3", True), ("valkey", "8.1.1", False),
     ("valkey", "", True)],
)
def test_users_unchanged_without_an_option(engine: str, dpkg: str, enabled: bool) -> None:
    assert engine_acl_users(USERS, engine_facts(engine), dpkg, "replication", enabled) == USERS


@pytest.mark.parametrize(
    ("engine", "release", "suite"),
    [("valkey", "bookworm", "bookworm-backports"), ("valkey", "trixie", ""), ("redis", "bookworm", ""),
     ("redis", "trixie", "")],
)
def test_valkey_comes_from_backports_on_debian_12_only(engine: str, release: str, suite: str) -> None:
    assert engine_suite(engine_facts(engine), release) == suite


@pytest.mark.parametrize(
    ("fact", "want", "refused"),
    [
        (None, "valkey", False),  # a new host
        ({"deployed": True, "engine": "redis"}, "redis", False),
        ({"deployed": True, "engine": "valkey"}, "valkey", False),
        ({"deployed": True}, "valkey", False),  # a fact from before the engine was recorded
        ({"deployed": True, "engine": "redis"}, "valkey", True),
        ({"deployed": True, "engine": "valkey"}, "redis", True),
        ({"deployed": False, "engine": "redis"}, "valkey", False),
    ],
)
def test_a_deployed_engine_changes_only_through_the_migration(fact: dict[str, object] | None, want: str,
                                                              refused: bool) -> None:
    local = {"redis_server": fact} if fact is not None else {}
    why = engine_switch(local, engine_facts(want), ["redis_server", "redis_sentinel"])
    assert len(why) == int(refused)
    if refused:
        assert why[0].startswith(f"tickstock_engine_name is {want!r}, but redis_server was deployed here with")
        assert "drill_rolling_action=migrate" in why[0]


def test_only_the_named_deployments_are_compared() -> None:
    # Mid-migration: the server moved, the Sentinel on the same host not yet.
    local = {"redis_server": {"deployed": True, "engine": "valkey"},
             "redis_sentinel": {"deployed": True, "engine": "redis"}}
    assert engine_switch(local, engine_facts("valkey"), ["redis_server"]) == []
    assert len(engine_switch(local, engine_facts("valkey"), ["redis_server", "redis_sentinel"])) == 1
    assert len(engine_switch(local, engine_facts("redis"), ["redis_server", "redis_sentinel"])) == 1
