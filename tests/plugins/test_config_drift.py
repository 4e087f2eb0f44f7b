from __future__ import annotations

from config_drift import drift


def test_nothing_differs() -> None:
    current = ["port", "6379", "appendonly", "yes", "maxmemory", "0"]
    assert drift(current, {"port": 6379, "appendonly": True, "maxmemory": "0"}) == {}


def test_only_what_differs_as_redis_writes_it() -> None:
    current = "down-after-milliseconds\n5000\nquorum\n2\nparallel-syncs\n1"
    wanted = {"quorum": "2", "down-after-milliseconds": 2000, "parallel-syncs": 1}
    assert drift(current, wanted) == {"down-after-milliseconds": "2000"}


def test_missing_setting_is_drift() -> None:
    assert drift({"port": "6379"}, {"port": "6379", "save": ["3600 1", "300 100"]}) == {"save": "3600 1 300 100"}


def test_booleans_compare_with_yes_no() -> None:
    assert drift({"resolve-hostnames": "no"}, {"resolve-hostnames": False}) == {}
    assert drift({"resolve-hostnames": "no"}, {"resolve-hostnames": True}) == {"resolve-hostnames": "yes"}


def test_empty_last_value_is_read_as_empty() -> None:
    assert drift("port\n6379\nreplicaof", {"replicaof": ""}) == {}


def test_order_follows_wanted() -> None:
    assert list(drift({}, {"b": 1, "a": 2, "c": 3})) == ["b", "a", "c"]
