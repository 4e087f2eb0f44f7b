from __future__ import annotations

import pytest
from filter_samples import INFO_MASTER, INFO_REPLICA, SENTINEL_MASTER_LINES, SENTINEL_MASTER_RAW
from redis_replies import info_replicas, parse_info, parse_pairs, redis_str, reply_text


def test_info_skips_headers_and_strips_carriage_returns() -> None:
    info = parse_info(INFO_REPLICA)
    assert info["role"] == "slave"
    assert info["master_host"] == "172.18.0.2"
    assert info["master_link_status"] == "up"
    assert "# Replication" not in info
    assert all(not v.endswith("\r") for v in info.values())


def test_info_keeps_colons_in_values_and_takes_lines() -> None:
    info = parse_info(["role:master", "", "executable:/usr/bin/redis-server", "garbage"])
    assert info == {"role": "master", "executable": "/usr/bin/redis-server"}


def test_info_of_nothing_is_empty() -> None:
    assert parse_info(None) == {}
    assert parse_info("") == {}


def test_info_replicas_in_order() -> None:
    replicas = info_replicas(parse_info(INFO_MASTER))
    assert [r["ip"] for r in replicas] == ["172.18.0.3", "172.18.0.4"]
    assert replicas[0] == {"ip": "172.18.0.3", "port": "6379", "state": "online", "offset": "10771", "lag": "1"}


def test_pairs_from_raw_lines_text_and_json() -> None:
    from_lines = parse_pairs(SENTINEL_MASTER_LINES)
    assert from_lines["down-after-milliseconds"] == "2000"
    assert parse_pairs(SENTINEL_MASTER_RAW) == from_lines
    # --json gives a flat list (RESP2) or an object (RESP3), numbers as numbers.
    assert parse_pairs(["quorum", 2, "flags", "master"]) == {"quorum": "2", "flags": "master"}
    assert parse_pairs({"quorum": 2}) == {"quorum": "2"}


def test_pairs_take_back_an_empty_last_value() -> None:
    # `CONFIG GET *` ending in `replicaof` with an empty value: Ansible strips the last newline.
    assert parse_pairs("port\n6379\nreplicaof") == {"port": "6379", "replicaof": ""}
    assert parse_pairs("replicaof\n\nport\n6379") == {"replicaof": "", "port": "6379"}


def test_pairs_refuse_an_error_message() -> None:
    with pytest.raises(ValueError, match="ERR No such master"):
        parse_pairs("ERR No such master with that name")
    assert parse_pairs("") == {}


def test_pairs_refuse_what_is_not_a_reply() -> None:
    with pytest.raises(TypeError):
        parse_pairs(42)


@pytest.mark.parametrize(
    ("value", "printed"),
    [(True, "yes"), (False, "no"), (5000, "5000"), (None, ""), (["a", 1], "a 1"), ("x", "x")],
)
def test_values_as_redis_prints_them(value: object, printed: str) -> None:
    assert redis_str(value) == printed


def test_reply_text_of_a_module_result() -> None:
    ok = {"replies": ["PONG", ["a", "b"]], "texts": ["PONG", "a\nb"], "errors": [None, None]}
    assert reply_text(ok) == "PONG" and reply_text(ok, 1) == "a\nb" and reply_text(ok, 2) == ""
    assert reply_text({"texts": [""], "errors": ["connect: refused"]}) == ""
    assert reply_text({"skipped": True}) == "" and reply_text(None) == ""
