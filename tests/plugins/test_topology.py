from __future__ import annotations

from filter_samples import INFO_MASTER, INFO_REPLICA, SENTINEL_MASTER_LINES, module_result
from topology import addr_map, master_ok, replica_ok, sentinel_healthy, sentinel_sees, topology

ADDRS = {
    "redis1": "172.18.0.2 fd00::2",
    "redis2": ["172.18.0.3"],
    "redis3": "172.18.0.4 ",
    "consumer1": "172.18.0.5",
}
MAP = addr_map(ADDRS, ["redis1", "redis2", "redis3"])
SERVERS = ["redis1", "redis2", "redis3"]


def test_addr_map_maps_every_address_and_name() -> None:
    assert MAP["172.18.0.2"] == "redis1"
    assert MAP["fd00::2"] == "redis1"
    assert MAP["redis3"] == "redis3"
    assert "172.18.0.5" not in MAP  # not a Redis host


def test_addr_map_of_all_hosts_and_first_claim_wins() -> None:
    assert addr_map({"a": "10.0.0.1", "b": "10.0.0.1 10.0.0.2"}) == {
        "a": "a",
        "10.0.0.1": "a",
        "b": "b",
        "10.0.0.2": "b",
    }


def test_addr_map_tolerates_hosts_without_addresses() -> None:
    assert addr_map({"a": None}, ["a", "b"]) == {"a": "a", "b": "b"}


def _lines(swap: dict[str, str]) -> list[str]:
    """SENTINEL MASTER's reply with some values swapped."""
    return [swap.get(v, v) for v in SENTINEL_MASTER_LINES]


def _agreeing() -> dict[str, object]:
    return {h: module_result(list(SENTINEL_MASTER_LINES)) for h in SERVERS}


def test_topology_when_every_sentinel_agrees() -> None:
    t = topology(_agreeing(), MAP, SERVERS)
    assert t["agreed"] is True
    assert t["master_addr"] == "172.18.0.2"
    assert t["master_host"] == "redis1"
    assert t["replica_hosts"] == ["redis2", "redis3"]
    assert t["down_after_ms"] == 2000
    assert t["views"] == {h: "172.18.0.2" for h in SERVERS}


def test_topology_with_a_silent_sentinel() -> None:
    replies = _agreeing()
    replies["redis2"] = module_result(None, errors=["connect: [Errno 111] Connection refused"])
    replies["redis3"] = None
    t = topology(replies, MAP, SERVERS)
    assert t["agreed"] is False
    assert t["master_host"] == "redis1"
    assert t["views"]["redis2"] == "" and t["views"]["redis3"] == ""
    assert t["down_after_views"] == {"redis1": 2000}


def test_topology_skipped_or_erroring_sentinel_has_no_view() -> None:
    replies = _agreeing()
    replies["redis2"] = {"skipped": True, "changed": False}
    replies["redis3"] = module_result(None, errors=["ERR No such master with that name"])
    t = topology(replies, MAP, SERVERS)
    assert t["agreed"] is False
    assert t["views"]["redis2"] == "" and t["views"]["redis3"] == ""


def test_topology_takes_the_majority_and_the_longest_down_after() -> None:
    replies = _agreeing()
    replies["redis3"] = module_result(_lines({"172.18.0.2": "172.18.0.3", "2000": "5000"}))
    t = topology(replies, MAP, SERVERS)
    assert t["agreed"] is False
    assert t["master_host"] == "redis1"
    assert t["down_after_ms"] == 5000


def test_topology_of_an_unknown_master() -> None:
    replies = {h: module_result(_lines({"172.18.0.2": "10.9.9.9"})) for h in SERVERS}
    t = topology(replies, MAP, SERVERS)
    assert t["agreed"] is True
    assert t["master_host"] == ""
    assert t["replica_hosts"] == SERVERS


def test_topology_when_no_sentinel_answers() -> None:
    t = topology({h: None for h in SERVERS}, MAP, SERVERS)
    assert t["agreed"] is False
    assert t["master_addr"] == "" and t["down_after_ms"] is None


def test_replica_ok() -> None:
    assert replica_ok(INFO_REPLICA, "redis1", MAP)
    assert replica_ok(INFO_REPLICA, "redis1", MAP, min_offset="10771")
    assert not replica_ok(INFO_REPLICA, "redis1", MAP, min_offset=10772)
    assert not replica_ok(INFO_REPLICA, "redis2", MAP)
    assert not replica_ok(INFO_REPLICA.replace("link_status:up", "link_status:down"), "redis1", MAP)
    assert not replica_ok(INFO_MASTER, "redis1", MAP)
    assert not replica_ok("", "", MAP)


def test_master_ok() -> None:
    assert master_ok(INFO_MASTER, 2)
    assert master_ok(INFO_MASTER, "2")
    assert not master_ok(INFO_MASTER, 1)
    assert not master_ok(INFO_REPLICA, 0)
    assert not master_ok(None, 0)


def test_sentinel_sees_the_whole_tier_only_when_every_count_matches() -> None:
    def changed(**kv: str) -> list[str]:
        d = dict(zip(SENTINEL_MASTER_LINES[::2], SENTINEL_MASTER_LINES[1::2], strict=True))
        d.update({k.replace("_", "-"): v for k, v in kv.items()})
        return [x for kv_ in d.items() for x in kv_]

    assert sentinel_sees(SENTINEL_MASTER_LINES, "172.18.0.2", 2, 2)
    assert not sentinel_sees(SENTINEL_MASTER_LINES, "172.18.0.3", 2, 2)  # another master
    assert not sentinel_sees(changed(num_other_sentinels="1"), "172.18.0.2", 2, 2)  # a peer not known yet
    assert not sentinel_sees(changed(num_slaves="1"), "172.18.0.2", 2, 2)
    assert not sentinel_sees(changed(flags="master,s_down"), "172.18.0.2", 2, 2)
    assert not sentinel_sees(None, "172.18.0.2", 2, 2)  # no answer


def test_sentinel_healthy_names_the_master_and_has_its_quorum() -> None:
    ok = {"texts": ["10.0.0.2\n6379", "OK 3 usable Sentinels. Quorum and failover authorization can be reached"]}
    assert sentinel_healthy(ok, "10.0.0.2")
    assert not sentinel_healthy(ok, "10.0.0.3")
    assert not sentinel_healthy({"texts": ["10.0.0.2\n6379", "NOQUORUM 1 usable Sentinels."]}, "10.0.0.2")
    # Unreachable (no texts), skipped, or a short reply: not healthy, and no error while retrying.
    assert not sentinel_healthy({"failed": True}, "10.0.0.2")
    assert not sentinel_healthy({"texts": ["10.0.0.2\n6379"]}, "10.0.0.2")
    assert not sentinel_healthy(None, "10.0.0.2")
