"""Who is master and who follows it, decided from what the hosts say.

    tickstock_addr_map(addresses, hosts=None)          -> {address or name: host}
    tickstock_topology(sentinel_replies, addr_map, servers)
                                                       -> {master_addr, master_host, replica_hosts,
                                                           views, agreed, down_after_ms, ...}
    tickstock_replica_ok(info, master_host, addr_map, min_offset=0) -> bool
    tickstock_master_ok(info, replicas)                 -> bool
    tickstock_sentinel_sees(master_reply, master_addr, sentinels, replicas) -> bool
    tickstock_sentinel_healthy(get_master_and_ckquorum_result, master_addr) -> bool

`sentinel_replies` holds, per Sentinel host, the registered tickstock_redis
result of `SENTINEL MASTER <name>` (None, or an error in it, when the
Sentinel did not answer). `info` is INFO replication output or its dict.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from redis_replies import parse_info, parse_pairs


def addr_map(addresses: Mapping[str, Any], hosts: Iterable[str] | None = None) -> dict[str, str]:
    """Every address (or name) of each host, pointing at the host; a host also maps its own name.

    `addresses` maps a host to its addresses: a list, or text such as the
    output of `hostname --all-ip-addresses`. `hosts` limits the map to those
    hosts (default: all). An address claimed by two hosts keeps the first.
    """
    out: dict[str, str] = {}
    for host in addresses if hosts is None else hosts:
        found = addresses.get(host) or []
        names = found.split() if isinstance(found, str) else [str(a) for a in found]
        for name in [host, *names]:
            out.setdefault(name, host)
    return out


def _sentinel_master(result: Any) -> dict[str, str]:
    """SENTINEL MASTER as a dict, or {} when that Sentinel did not answer."""
    if not isinstance(result, Mapping) or result.get("failed") or result.get("skipped"):
        return {}
    replies, errors = result.get("replies") or [None], result.get("errors") or [None]
    if errors[0] or not isinstance(replies[0], list):
        return {}
    return parse_pairs(replies[0])


def topology(
    sentinel_replies: Mapping[str, Any], addr_map: Mapping[str, str], servers: Iterable[str]
) -> dict[str, Any]:
    """The master as the Sentinels name it, its replicas (the other servers), and the Sentinels' down-after.

    views            {sentinel: master address, or "" when it did not answer}
    agreed           every Sentinel answered and all name the same address
    master_addr      the address most Sentinels name ("" when none answered)
    master_host      the inventory host with that address ("" when none has it)
    replica_hosts    the other servers
    down_after_ms    the longest down-after-milliseconds any Sentinel reports (None: no answer)
    down_after_views {sentinel: down-after-milliseconds}
    failover_timeout_ms the longest failover-timeout any Sentinel reports (None: no answer)
    """
    masters = {host: _sentinel_master(result) for host, result in sentinel_replies.items()}
    views = {host: m.get("ip", "") for host, m in masters.items()}
    answered = [addr for addr in views.values() if addr]
    master_addr = max(answered, key=answered.count) if answered else ""
    master_host = addr_map.get(master_addr, "")
    down_after_views = {
        host: int(m["down-after-milliseconds"])
        for host, m in masters.items()
        if m.get("down-after-milliseconds", "").isdigit()
    }
    failover_timeouts = [
        int(m["failover-timeout"]) for m in masters.values() if m.get("failover-timeout", "").isdigit()
    ]
    return {
        "views": views,
        "agreed": len(answered) == len(views) > 0 and len(set(answered)) == 1,
        "master_addr": master_addr,
        "master_host": master_host,
        "replica_hosts": [s for s in servers if s != master_host],
        "down_after_ms": max(down_after_views.values()) if down_after_views else None,
        "down_after_views": down_after_views,
        "failover_timeout_ms": max(failover_timeouts) if failover_timeouts else None,
    }


def _int(value: Any, fallback: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return fallback


def replica_ok(info: Any, master_host: str, addr_map: Mapping[str, str], min_offset: Any = 0) -> bool:
    """A replica of master_host (by any of its addresses) with its link up and its offset at min_offset or past it."""
    i = parse_info(info)
    return (
        i.get("role") == "slave"
        and master_host != ""
        and addr_map.get(i.get("master_host", ""), "") == master_host
        and i.get("master_link_status") == "up"
        and _int(i.get("slave_repl_offset"), -1) >= _int(min_offset, 0)
    )


def master_ok(info: Any, replicas: Any) -> bool:
    """A master with exactly `replicas` replicas connected."""
    i = parse_info(info)
    return i.get("role") == "master" and _int(i.get("connected_slaves"), -1) == _int(replicas, -2)


def sentinel_sees(master_reply: Any, master_addr: str, sentinels: Any, replicas: Any) -> bool:
    """One Sentinel's SENTINEL MASTER reply: it monitors master_addr, not down, with that many others and replicas."""
    m = parse_pairs(master_reply) if isinstance(master_reply, list) else {}
    flags = m.get("flags", "").split(",")
    return (
        m.get("ip") == master_addr
        and "master" in flags
        and not {"s_down", "o_down", "disconnected"} & set(flags)
        and _int(m.get("num-other-sentinels"), -1) == _int(sentinels, -2)
        and _int(m.get("num-slaves"), -1) == _int(replicas, -2)
    )


def sentinel_healthy(result: Any, master_addr: str) -> bool:
    """A tickstock_redis result of SENTINEL get-master-addr-by-name then SENTINEL ckquorum: this
    Sentinel names master_addr (the first line of the address reply) and has its quorum ("OK ...")."""
    texts = result.get("texts") if isinstance(result, Mapping) else None
    if not isinstance(texts, Sequence) or isinstance(texts, str) or len(texts) < 2:
        return False
    return str(texts[0]).split("\n")[0] == master_addr and str(texts[1]).startswith("OK ")


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_addr_map": addr_map,
            "tickstock_topology": topology,
            "tickstock_replica_ok": replica_ok,
            "tickstock_master_ok": master_ok,
            "tickstock_sentinel_sees": sentinel_sees,
            "tickstock_sentinel_healthy": sentinel_healthy,
        }
