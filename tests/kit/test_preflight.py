"""preflight.yml (the start of site.yml) stops a bad run and names the variable.

Each case runs the real ansible-playbook against an inventory of local
hosts: preflight.yml only reads (facts, asserts), so nothing is changed.
"""

import json
import os
import subprocess

import pytest
from conftest import ROOT

PLAYBOOK = ROOT / "preflight.yml"
SECRETS = {
    f"{kind}_{user}": f"a-{kind}-{user}-password-1234"
    for kind, users in (("redis", ("admin", "replication", "sentinel", "publisher", "consumer", "monitor", "drill")),
                        ("sentinel", ("admin", "peer", "client", "monitor")))
    for user in users
}
GOOD_VARS = {"tickstock_secrets": SECRETS}


def secrets(**changes):
    return {"tickstock_secrets": {**SECRETS, **changes}}


def inventory(tmp_path, extra_group_vars=None):
    hosts = {"r1": {}, "r2": {}, "r3": {}}
    inv = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
            "children": {
                "redis_servers": {"hosts": hosts},
                "redis_sentinels": {"hosts": hosts},
                "tickstock_consumers": {"hosts": {"c1": {}}},
            },
        }
    }
    # group_vars files, as an operator writes them (they outrank the contract plugin).
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "redis_sentinels.yml").write_text(json.dumps(extra_group_vars or {}))
    path = tmp_path / "hosts.yml"
    path.write_text(json.dumps(inv))
    return path


def run(tmp_path, extra, group_vars=None):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_GATHER_SUBSET="!all,!min,network")
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory(tmp_path, group_vars)), str(PLAYBOOK),
         "-e", json.dumps({**GOOD_VARS, **extra})],
        check=False, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )


def test_good_variables_pass(tmp_path):
    res = run(tmp_path, {})
    assert res.returncode == 0, res.stdout[-3000:]


CASES = [
    ("tickstock_redis_port", {"tickstock_redis_port": 70000}),
    ("tickstock_sentinel_port", {"tickstock_sentinel_port": 99999}),
    ("redis_sentinel_quorum", {"redis_sentinel_quorum": 0}),
    ("redis_sentinel_quorum", {"redis_sentinel_quorum": 5}),
    ("tickstock_down_after_ms", {"tickstock_down_after_ms": -1}),
    ("redis_server_min_replicas_to_write", {"redis_server_min_replicas_to_write": -3}),
    ("tickstock_consumer_extra_env.REDIS_DB", {"tickstock_consumer_extra_env": {"REDIS_DB": 99}}),
    ("tickstock_consumer_memory_max", {"tickstock_consumer_memory_max": "lots"}),
    ("tickstock_consumer_sentinels", {"tickstock_consumer_sentinels": ["10.1.2.3"]}),
    ("tickstock_consumer_http_host", {"tickstock_consumer_http_host": "0.0.0.0"}),
    ("tickstock_consumer_extra_env", {"tickstock_consumer_extra_env": {"LD_PRELOAD": "/tmp/x.so"}}),
    ("tickstock_consumer_extra_env", {"tickstock_consumer_extra_env": {"TICKSTOCKPL_A\nB": "1"}}),
    ("tickstock_secrets: redis_admin: must be set", secrets(redis_admin="")),
    ("tickstock_secrets: sentinel_client: must be at least", secrets(sentinel_client="short")),
    ("tickstock_secrets: redis_consumer: must not contain control",
     secrets(redis_consumer='pw-long-enough"\nenable-debug-command yes\n#')),
    ("tickstock_secrets: lacks redis_drill",
     {"tickstock_secrets": {k: v for k, v in SECRETS.items() if k != "redis_drill"}}),
    ("tickstock_secrets: redis_admin: give one password", secrets(redis_admin=["a" * 16, "b" * 16, "c" * 16])),
    ("tickstock_consumer_instances", {"tickstock_consumer_instances": -1}),
    ("tickstock_consumer_http_port_base", {"tickstock_consumer_http_port_base": 70000}),
    ("redis_server_replica_priority", {"redis_server_replica_priority": -1}),
    ("tickstock_consumer_publisher_tickers", {"tickstock_consumer_publisher_tickers": ["aapl"]}),
    ("redis_sentinel_failover_timeout_ms", {"redis_sentinel_failover_timeout_ms": 0}),
    ("tickstock_consumer_stop_timeout_sec",
     {"tickstock_consumer_stop_timeout_sec": 10, "tickstock_consumer_extra_env": {"TICKSTOCKPL_PROCESS_TIMEOUT": 30}}),
    ("redis_server_restart_delay_s", {"redis_server_restart_delay_s": 1}),
    ("redis_server_appendonly", {"redis_server_appendonly": "maybe"}),
    ("tickstock_engine_name", {"tickstock_engine_name": "keydb"}),
]


@pytest.mark.parametrize(("variable", "extra"), CASES, ids=[f"{v.split(':')[0]}-{i}" for i, (v, _) in enumerate(CASES)])
def test_bad_value_fails_naming_the_variable(tmp_path, variable, extra):
    res = run(tmp_path, extra)
    assert res.returncode != 0, f"{extra} passed preflight"
    assert variable in res.stdout, res.stdout[-3000:]
    for value in extra.get("tickstock_secrets", {}).values():
        for pw in value if isinstance(value, list) else [value]:
            if len(pw) > 3:
                assert pw not in res.stdout + res.stderr, "a password was printed"


def test_contract_set_for_one_group_only_is_refused(tmp_path):
    res = run(tmp_path, {}, group_vars={"tickstock_master_name": "other-name"})
    assert res.returncode != 0
    assert "tickstock_master_name differs" in res.stdout, res.stdout[-3000:]
