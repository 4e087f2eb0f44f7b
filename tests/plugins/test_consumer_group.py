from __future__ import annotations

from consumer_group import group_drained, stream_id

STREAM = ["length", 10, "last-generated-id", "1700000000000-5", "first-entry", ["1-0", ["a", "b"]]]


def groups(pending: int, delivered: str, name: str = "g") -> list[object]:
    return [["name", name, "consumers", 2, "pending", pending, "last-delivered-id", delivered, "lag", 7]]


def test_drained_when_caught_up_and_nothing_pending() -> None:
    assert group_drained([STREAM, groups(0, "1700000000000-5")], "g")
    assert group_drained([STREAM, groups(0, "1700000000001-0")], "g")


def test_not_drained_when_pending_or_behind() -> None:
    assert not group_drained([STREAM, groups(3, "1700000000000-5")], "g")
    assert not group_drained([STREAM, groups(0, "1700000000000-4")], "g")
    # ids compare as numbers, not text
    assert not group_drained([STREAM, groups(0, "999999999999-9")], "g")


def test_not_drained_without_the_group_or_an_answer() -> None:
    assert not group_drained([STREAM, groups(0, "1700000000000-5", name="other")], "g")
    assert not group_drained(["ERR no such key"], "g")
    assert not group_drained([None, None], "g")  # the module's replies after an error
    assert not group_drained(["ERR no such key", []], "g")
    assert not group_drained(None, "g")


def test_resp3_objects() -> None:
    stream = {"length": 1, "last-generated-id": "5-0"}
    grp = [{"name": "g", "pending": 0, "last-delivered-id": "5-0"}]
    assert group_drained([stream, grp], "g")


def test_stream_id() -> None:
    assert stream_id("12-3") == (12, 3)
    assert stream_id("12") == (12, 0)
    assert stream_id("x") == (-1, -1)
