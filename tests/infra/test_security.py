"""Least privilege on the deployed tier: every ACL user may do its job and no more.

Allowed commands are run for real; forbidden ones are asked of ACL DRYRUN as
the admin (so a test can never FLUSHALL the cluster), except the Sentinel
commands, which are really attempted with the client user and refused.
"""

import pytest
from conftest import CONTRACT

STREAM = CONTRACT["stream"]
DEAD = CONTRACT["dead_letter_stream"]
PATTERNS = CONTRACT["channel_patterns"]
ALL_TICKS = CONTRACT["channel_all_ticks"]
TICKER = CONTRACT["channel_ticker_prefix"] + "AAPL"
OWN_KEY = CONTRACT["key_prefix"] + "security-test"

# Commands nobody but the admin may run.
DANGEROUS = [
    ["FLUSHALL"], ["FLUSHDB"], ["CONFIG", "GET", "masterauth"], ["CONFIG", "SET", "maxmemory", "1"],
    ["KEYS", "*"], ["ACL", "SETUSER", "x"], ["ACL", "LIST"], ["SCRIPT", "FLUSH"], ["SHUTDOWN"],
    ["REPLICAOF", "NO", "ONE"], ["DEBUG", "SLEEP", "0"], ["SELECT", "15"], ["MODULE", "LIST"],
    ["FAILOVER"], ["CLIENT", "KILL", "ID", "1"], ["MIGRATE", "h", "1", "k", "0", "1"],
]

ALLOWED = {
    "publisher": [["XADD", STREAM, "*", "data", "{}"], ["PUBLISH", ALL_TICKS, "x"], ["PUBLISH", TICKER, "x"],
                  ["WAIT", "0", "0"], ["ROLE"], ["PING"], ["XTRIM", STREAM, "MINID", "~", "0"]],
    "consumer": [["XREADGROUP", "GROUP", "g", "c", "STREAMS", STREAM, ">"], ["XACK", STREAM, "g", "0-1"],
                 ["XADD", DEAD, "*", "reason", "x"], ["PUBLISH", PATTERNS, "x"], ["SET", OWN_KEY, "1"],
                 ["SUBSCRIBE", ALL_TICKS], ["EVAL", "return 1", "0"], ["WAIT", "0", "0"], ["ROLE"]],
    "monitor": [["INFO"], ["XINFO", "GROUPS", STREAM], ["XLEN", DEAD], ["PING"]],
    "drill": [["XADD", STREAM, "*", "data", "{}"], ["GET", OWN_KEY], ["XRANGE", STREAM, "-", "+"],
              ["SUBSCRIBE", PATTERNS], ["ROLE"]],
    "replication": [["PSYNC", "?", "-1"], ["REPLCONF", "listening-port", "1"]],
    "sentinel": [["INFO"], ["ROLE"], ["PUBLISH", "__sentinel__:hello", "x"], ["CONFIG", "REWRITE"]],
}

REFUSED = {
    "publisher": [["XADD", DEAD, "*", "x", "y"], ["PUBLISH", PATTERNS, "x"], ["XREADGROUP", "GROUP", "g", "c",
                  "STREAMS", STREAM, ">"], ["GET", OWN_KEY], ["SET", "other", "1"]],
    "consumer": [["XADD", STREAM, "*", "data", "{}"], ["PUBLISH", ALL_TICKS, "x"], ["SET", "other", "1"],
                 ["XTRIM", STREAM, "MAXLEN", "0"], ["DEL", STREAM]],
    "monitor": [["XADD", STREAM, "*", "a", "b"], ["GET", OWN_KEY], ["PUBLISH", PATTERNS, "x"]],
    "drill": [["SET", OWN_KEY, "1"], ["XADD", DEAD, "*", "a", "b"], ["DEL", STREAM]],
    "replication": [["INFO"], ["GET", OWN_KEY]],
    "sentinel": [["GET", OWN_KEY], ["XADD", STREAM, "*", "a", "b"]],
}


def dryrun(node, user, cmd):
    return node.redis("ACL", "DRYRUN", user, *cmd)


@pytest.mark.parametrize("user", sorted(ALLOWED))
def test_each_user_may_do_its_job(cluster, user):
    node = next(iter(cluster.values()))
    for cmd in ALLOWED[user]:
        assert dryrun(node, user, cmd) == "OK", (user, cmd)


# Sentinel disconnects the clients of a demoted master (the Redis ACL docs' minimal rules).
# The exporter selects its database (it can read nothing more for it).
NEEDED = {"sentinel": [["CLIENT", "KILL", "ID", "1"]], "monitor": [["SELECT", "15"]]}


@pytest.mark.parametrize("user", sorted(REFUSED))
def test_each_user_is_refused_the_rest(cluster, user):
    node = next(iter(cluster.values()))
    dangerous = [c for c in DANGEROUS if c not in NEEDED.get(user, [])]
    for cmd in REFUSED[user] + dangerous:
        assert "no permissions" in dryrun(node, user, cmd), (user, cmd)


def test_real_client_logins_work_and_are_limited(cluster):
    node = next(iter(cluster.values()))
    assert node.redis("PING", user="monitor") == "PONG"
    assert "NOPERM" in node.redis("CONFIG", "GET", "masterauth", user="monitor")
    assert "NOPERM" in node.redis("FLUSHALL", user="consumer")
    assert "NOPERM" in node.redis("KEYS", "*", user="publisher")


def test_default_user_is_off(cluster):
    for name, node in cluster.items():
        assert "NOAUTH" in node.redis("PING", password=False), name
        entry = [line for line in node.redis("ACL", "LIST").splitlines() if line.startswith("user default")]
        assert entry and " off " in f"{entry[0]} ", (name, entry)
        # It holds permissions for the AOF replay (redis_server vars/main.yml): never a way in.
        assert "nopass" not in entry[0].split() and "#" not in entry[0] and ">" not in entry[0], (name, entry)


def test_sentinel_client_can_discover_but_not_reconfigure(cluster):
    for name, node in cluster.items():
        addr = node.sentinel("SENTINEL", "get-master-addr-by-name", node.master_name, user="client")
        assert len(addr.splitlines()) == 2, (name, addr)
        for cmd in (
            ["SENTINEL", "SET", node.master_name, "quorum", "1"],
            ["SENTINEL", "MONITOR", "evil", "127.0.0.1", "1", "1"],
            ["SENTINEL", "REMOVE", node.master_name],
            ["SENTINEL", "FAILOVER", node.master_name],
            ["SENTINEL", "CONFIG", "GET", "*"],
            ["SENTINEL", "CONFIG", "SET", "announce-ip", "1.2.3.4"],
            ["ACL", "LIST"],
            ["SHUTDOWN"],
        ):
            out = node.sentinel(*cmd, user="client")
            assert "NOPERM" in out, (name, cmd, out)
        # The Sentinels' own password for each other is not readable by the peer user either.
        assert "NOPERM" in node.sentinel("SENTINEL", "CONFIG", "GET", "*", user="peer")
        assert "NOAUTH" in node.sentinel("PING", password=False)
