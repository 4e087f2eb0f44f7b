from __future__ import annotations

from host_facts import collect


def test_missing_hosts_and_variables_are_none() -> None:
    hostvars = {"a": {"x": 1}, "b": {}}
    assert collect(hostvars, ["a", "b", "c"], "x") == {"a": 1, "b": None, "c": None}


def test_order_is_the_hosts_order() -> None:
    hostvars = {"a": {"x": 1}, "b": {"x": 2}}
    assert list(collect(hostvars, ["b", "a"], "x")) == ["b", "a"]
