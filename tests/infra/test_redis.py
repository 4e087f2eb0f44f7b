"""Redis HA (redis_server + redis_sentinel roles): the state a converge must leave."""

import hashlib
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from conftest import (
    INVENTORY,
    REDIS_PORT,
    SENTINEL_PORT,
    every_password,
    host_engine,
    pairs,
    playbook_secrets,
    wait_for,
)
from engine_facts import engine_options, engine_version  # on the path through conftest
from testinfra.utils.ansible_runner import AnsibleRunner

ROOT = Path(__file__).resolve().parents[2]

# Per-host tests run on the Redis hosts only, not on consumer hosts.
testinfra_hosts = (
    [f"ansible://{h}?ansible_inventory={INVENTORY}" for h in AnsibleRunner(INVENTORY).get_hosts("redis_servers")]
    if INVENTORY
    else []
)

# The units and files by their engine fact (plugins/filter/engine_facts.py): redis-server or valkey-server, ...
SERVICES = ["server_unit", "sentinel_unit"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_active_and_enabled(host, service):
    unit = host.service(host_engine(host)[service])
    assert unit.is_running
    assert unit.is_enabled


# (path, owner, group, mode): "{conf_dir}" and "user"/"group" are the engine's.
@pytest.mark.parametrize(
    "path,owner,group,mode",
    [
        ("{conf_dir}/tickstock.conf", "root", "group", 0o640),
        ("{conf_dir}/tickstock-runtime.conf", "root", "group", 0o640),
        ("{server_conf}", "user", "group", 0o640),
        ("{sentinel_conf}", "user", "group", 0o640),
        ("/etc/ansible/facts.d/redis_sentinel.fact", "root", "root", 0o600),
    ],
)
def test_config_file_owner_and_mode(host, path, owner, group, mode):
    engine = host_engine(host)
    path = path.format(**engine)
    f = host.file(path)
    assert f.is_file
    assert (f.user, f.group, f.mode) == (engine.get(owner, owner), engine.get(group, group), mode)
    assert f.mode & 0o007 == 0, f"{path} is readable by others"


def test_redis_conf_includes_ansible_files_first(host):
    engine = host_engine(host)
    lines = [
        line for line in host.file(engine["server_conf"]).content_string.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    conf_dir = engine["conf_dir"]
    assert lines[:2] == [f"include {conf_dir}/tickstock.conf", f"include {conf_dir}/tickstock-runtime.conf"]


def test_redis_stop_is_bounded(host):
    # Debian's unit waits forever (TimeoutStopSec=0, shown as "infinity").
    timeout = host.check_output(f"systemctl show -p TimeoutStopUSec --value {host_engine(host)['server_unit']}")
    assert timeout not in ("infinity", "0", ""), timeout


def test_the_engine_runs(cluster):
    # The engine's own binary serves, and INFO names its version (valkey_version for Valkey).
    for name, node in cluster.items():
        assert node.engine["version_field"] in node.info("server"), name
        pid = node.host.check_output(f"systemctl show -p MainPID --value {node.engine['server_unit']}")
        cmdline = node.host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline")
        assert cmdline.startswith(node.engine["server_bin"] + " "), (name, cmdline)


def test_kernel_not_tuned_from_a_container(host):
    assert host.run("systemd-detect-virt --container").rc == 0
    assert not host.file("/etc/sysctl.d/60-redis.conf").exists
    assert not host.file("/etc/systemd/system/disable-thp.service").exists


def test_exactly_one_master_and_replicas_linked(cluster, expected_master):
    roles = {name: node.info("replication") for name, node in cluster.items()}
    masters = [name for name, info in roles.items() if info["role"] == "master"]
    assert len(masters) == 1, roles
    assert cluster[masters[0]].address == expected_master
    assert int(roles[masters[0]]["connected_slaves"]) == len(cluster) - 1
    for name, info in roles.items():
        if name in masters:
            continue
        assert info["role"] == "slave", name
        assert info["master_host"] == expected_master, name
        assert info["master_link_status"] == "up", name


def test_sentinels_agree(cluster, expected_master):
    for name, node in cluster.items():
        addr = node.sentinel("SENTINEL", "get-master-addr-by-name", node.master_name).splitlines()
        assert addr == [expected_master, str(REDIS_PORT)], name
        master = pairs(node.sentinel("SENTINEL", "MASTER", node.master_name))
        assert master["flags"] == "master", name
        assert master["quorum"] == "2", name
        assert master["num-other-sentinels"] == "2", name
        assert master["num-slaves"] == str(len(cluster) - 1), name
        assert master["down-after-milliseconds"] == str(node.vars["tickstock_down_after_ms"])
        assert master["failover-timeout"] == str(node.vars["redis_sentinel_failover_timeout_ms"])


def test_sentinel_myid_is_stable(cluster):
    for name, node in cluster.items():
        expected = hashlib.sha1((name + "tickstock-redis-sentinel").encode()).hexdigest()
        assert node.sentinel("SENTINEL", "MYID") == expected


def test_write_on_master_reaches_every_replica(cluster, expected_master):
    master = next(n for n in cluster.values() if n.address == expected_master)
    key, value = f"tsdef:test:{uuid.uuid4().hex}", uuid.uuid4().hex
    assert master.redis("SET", key, value, "EX", "300") == "OK"
    for name, node in cluster.items():
        got = wait_for(lambda n=node: n.redis("GET", key) == value)
        assert got, f"{key} not replicated to {name}"


def test_unauthenticated_clients_are_refused(cluster):
    for name, node in cluster.items():
        for port in (REDIS_PORT, SENTINEL_PORT):
            out = node.redis("PING", password=False, port=port)
            assert "NOAUTH" in out, (name, port, out)
        # From another host, over the private network.
        peer = next(n for n in cluster.values() if n is not node)
        remote = peer.host.run(f"{peer.engine['cli']} -h {node.address} -p {REDIS_PORT} {peer.tls}PING")
        assert "NOAUTH" in remote.stdout, (name, remote.stdout, remote.stderr)


def test_never_bound_to_all_addresses(cluster):
    for name, node in cluster.items():
        bind = pairs(node.redis("CONFIG", "GET", "bind"))["bind"].split()
        assert "*" not in bind and "0.0.0.0" not in bind, (name, bind)
        assert set(bind) == {node.address, "127.0.0.1"}, (name, bind)
        assert pairs(node.redis("CONFIG", "GET", "protected-mode"))["protected-mode"] == "yes"
        assert pairs(node.redis("CONFIG", "GET", "min-replicas-to-write"))["min-replicas-to-write"] == "1"


def test_status_playbook_reads_every_node(cluster, expected_master, tmp_path):
    """playbooks/status.yml (the tickstock_redis module, TLS when on) reads every node and prints no password."""
    root = Path(__file__).resolve().parents[2]
    node = next(iter(cluster.values()))
    run = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(root / "playbooks" / "status.yml"),
         *playbook_secrets(tmp_path, node.secrets)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg")},
    )
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    master = re.escape(f"{expected_master}:{REDIS_PORT}")
    for name in cluster:
        assert re.search(rf"\b{re.escape(name)}\s+{master}\s+master\b", out), out[-4000:]
    assert re.search(r"STREAM \S+ on \S+: length \d+, dead letters \d+", out), out[-4000:]
    assert re.search(r"PATTERN EVENTS in a \d+ s sample: \d+", out), out[-4000:]
    passwords = every_password(node.secrets)
    assert not [p for p in passwords if p in out], "status.yml printed a password"


def test_the_settings_only_newer_servers_have_follow_the_running_version(cluster):
    """redis_server_rdb_channel (on unless the inventory says otherwise): the role reads the installed
    package's version (tickstock_host) and turns on what that version has; Redis 7.0 gets nothing."""
    default = yaml.safe_load((ROOT / "roles/redis_server/defaults/main.yml").read_text())["redis_server_rdb_channel"]
    for name, node in cluster.items():
        info = dict(line.split(":", 1) for line in node.redis("INFO", "server").splitlines() if ":" in line)
        version = engine_version(info[node.engine["version_field"]].strip())
        assert version, (name, info.get(node.engine["version_field"]))
        wanted = engine_options(node.engine, version) if node.vars.get("redis_server_rdb_channel", default) else {}
        for option, value in wanted.items():
            assert pairs(node.redis("CONFIG", "GET", option)).get(option) == value, (name, version, option)
