"""Consumer hosts after site.yml: units, readiness, consumption, dead letters, sandbox.

Runs under Molecule (molecule/default, molecule/failover) or against any inventory:
    pytest --ansible-inventory=inventories/lab --connection=ansible tests/infra/test_consumer.py
Every test is skipped when the inventory has no tickstock_consumers host.
"""

from __future__ import annotations

import json
import os
import re
import uuid

import pytest
import testinfra.utils.ansible_runner
from conftest import CONTRACT, current, secrets_of, wait_for

INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE") or os.environ.get(
    "TESTINFRA_INVENTORY",
    os.path.join(os.path.dirname(__file__), "../../inventories/lab"),
)
_runner = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
CONSUMERS = _runner.get_hosts("tickstock_consumers")
testinfra_hosts = [f"ansible://{h}?ansible_inventory={INVENTORY}" for h in CONSUMERS]
pytestmark = pytest.mark.skipif(
    not CONSUMERS, reason="no tickstock_consumers host in this inventory"
)

VENV_PY = "/opt/tickstockpl/venv/bin/python"
ENV_FILE = "/etc/tickstockpl/tickstockpl.env"
STREAM = CONTRACT["stream"]
GROUP = CONTRACT["group"]
DEAD = CONTRACT["dead_letter_stream"]
PATTERNS = CONTRACT["channel_patterns"]
MAX_EXPOSURE = 2.0

# Runs on the consumer host with the consumer's own venv and credentials.
_PRELUDE = r"""
import json, os, shlex, sys
from redis.sentinel import Sentinel
env = {}
for line in open(ENV_FILE):
    line = line.strip()
    if line and not line.startswith("#") and "=" in line:
        k, v = line.split("=", 1)
        env[k] = shlex.split(v)[0] if v else ""
sentinels = [(a.rsplit(":", 1)[0], int(a.rsplit(":", 1)[1])) for a in env["REDIS_SENTINELS"].split(",")]
tls = {}
if env.get("REDIS_TLS") == "true":
    tls = {"ssl": True, "ssl_ca_certs": env["REDIS_TLS_CA_FILE"], "ssl_certfile": env["REDIS_TLS_CERT_FILE"],
           "ssl_keyfile": env["REDIS_TLS_KEY_FILE"]}
sentinel_password = open("/etc/tickstockpl-secrets/consumer-sentinel.password").read().strip()
sen = Sentinel(sentinels, socket_timeout=5,
               sentinel_kwargs={"password": sentinel_password,
                                "username": env.get("REDIS_SENTINEL_USERNAME"), "socket_timeout": 5, **tls},
               password=ADMIN_PASSWORD, username="admin", **tls)
r = sen.master_for(env["REDIS_SENTINEL_MASTER"], decode_responses=True)
""".replace("ENV_FILE", repr(ENV_FILE))


def _py(host, code: str):
    """Run `code` after the prelude on the host, logged in to Redis as the admin
    (the consumer host itself holds no admin password); it prints one JSON value."""
    admin = current(secrets_of(host)["redis_admin"])
    prelude = _PRELUDE.replace("ADMIN_PASSWORD", repr(admin))
    out = host.check_output("%s -c %s", VENV_PY, prelude + code)
    return json.loads(out)


def _instances(host) -> list[int]:
    return list(
        range(
            1,
            int(host.ansible.get_variables().get("tickstock_consumer_instances", 1))
            + 1,
        )
    )


def _port(host, i: int) -> int:
    return (
        int(host.ansible.get_variables().get("tickstock_consumer_http_port_base", 9108))
        + i
        - 1
    )


def _show(host, unit: str, *props: str) -> dict[str, str]:
    out = host.check_output(
        "systemctl show %s " + " ".join("-p " + p for p in props), unit
    )
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _http(host, port: int, path: str) -> tuple[int, str]:
    code = (
        "import urllib.request, urllib.error, json, sys\n"
        "try:\n"
        f"    r = urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=5)\n"
        "    print(json.dumps([r.status, r.read().decode()]))\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(json.dumps([e.code, e.read().decode()]))\n"
    )
    status, body = json.loads(host.check_output("python3 -c %s", code))
    return status, body


def _ticks_processed(host, i: int) -> float:
    status, body = _http(host, _port(host, i), "/metrics")
    assert status == 200
    m = re.search(r"^tickstockpl_ticks_processed_total\s+(\S+)$", body, re.MULTILINE)
    assert m, "tickstockpl_ticks_processed_total missing from /metrics"
    return float(m.group(1))


def test_package_installed_in_venv(host):
    assert host.file("/opt/tickstockpl/venv/bin/tickstockpl").is_file
    fact = json.loads(host.file("/etc/ansible/facts.d/tickstockpl.fact").content_string)
    assert fact["release"].startswith(fact["version"] + "-")


def test_env_files_are_root_only(host):
    logins = ("consumer", "publisher", "drill")
    groups = {"consumer": "tickstockpl", "publisher": "tickstockpl-publisher", "drill": "root"}
    for login in logins:
        for name in (f"{login}.password", f"{login}-sentinel.password"):
            path = f"/etc/tickstockpl-secrets/{name}"
            f = host.file(path)
            assert (f.user, f.group, f.mode) == ("root", groups[login], 0o640), path
    assert not host.file("/etc/tickstockpl-secrets/sentinel.password").exists
    secrets = host.file("/etc/tickstockpl-secrets")
    assert (secrets.user, secrets.group, secrets.mode) == ("root", "root", 0o711)
    for path in [ENV_FILE] + [f"/etc/tickstockpl/{n}.env" for n in logins] + [
        f"/etc/tickstockpl/instance-{i}.env" for i in _instances(host)
    ]:
        f = host.file(path)
        assert f.user == "root" and f.group == "root", path
        assert f.mode == 0o600, f"{path} has mode {oct(f.mode)}"
    assert host.file("/etc/tickstockpl").mode == 0o700


def test_each_service_account_reads_only_its_own_password_files(host):
    """The consumers' account cannot read the publisher's passwords, nor the publisher's theirs."""
    secrets = "/etc/tickstockpl-secrets"
    can = {
        ("tickstockpl", "consumer"): True,
        ("tickstockpl", "publisher"): False,
        ("tickstockpl", "drill"): False,
        ("tickstockpl-publisher", "publisher"): True,
        ("tickstockpl-publisher", "consumer"): False,
        ("tickstockpl-publisher", "drill"): False,
    }
    for (user, login), allowed in can.items():
        for name in (f"{login}.password", f"{login}-sentinel.password"):
            read = host.run("runuser -u %s -- cat %s", user, f"{secrets}/{name}")
            assert (read.rc == 0) == allowed, f"{user} reading {name}: rc {read.rc} {read.stderr.strip()}"
            assert "Permission denied" in read.stderr or allowed


def test_no_password_in_any_process_environment(host):
    """The units pass passwords as files (REDIS_PASSWORD_FILE), not in the environment."""
    pids = host.check_output("pgrep -f 'bin/tickstockpl (consume|publish)' || true").split()
    assert pids, "no consumer process runs"
    for pid in pids:
        environ = host.check_output("tr '\\0' '\\n' < /proc/%s/environ", pid)
        names = [line.split("=", 1)[0] for line in environ.splitlines()]
        assert not {"REDIS_PASSWORD", "REDIS_SENTINEL_PASSWORD"} & set(names), (pid, names)
        assert {"REDIS_PASSWORD_FILE", "REDIS_SENTINEL_PASSWORD_FILE"} <= set(names), (pid, names)


def test_service_user_is_unprivileged(host):
    user = host.user("tickstockpl")
    assert user.exists and user.uid < 1000 and user.shell == "/usr/sbin/nologin"


def test_instances_active_and_ready(host):
    for i in _instances(host):
        unit = f"tickstockpl@{i}.service"
        props = _show(
            host,
            unit,
            "Type",
            "ActiveState",
            "SubState",
            "NotifyAccess",
            "StatusText",
            "WatchdogUSec",
            "UnitFileState",
            "User",
        )
        # Type=notify + active means systemd received READY=1.
        assert props["Type"] == "notify", props
        assert props["ActiveState"] == "active" and props["SubState"] == "running", (
            props
        )
        assert props["NotifyAccess"] == "main", props
        assert props["UnitFileState"] == "enabled", props
        assert props["WatchdogUSec"] not in ("0", "infinity", ""), props
        assert props["User"] == "tickstockpl", props
        assert props["StatusText"], "the consumer sent no STATUS= text"


def test_http_endpoints_answer(host):
    for i in _instances(host):
        port = _port(host, i)
        assert _http(host, port, "/healthz")[0] == 200
        status, body = _http(host, port, "/readyz")
        assert status == 200 and json.loads(body)["ready"] is True, body
        status, body = _http(host, port, "/metrics")
        assert status == 200 and "tickstockpl_ticks_processed_total" in body


def test_sandbox_exposure(host):
    for unit in ["tickstockpl@1.service"] + (
        ["tickstockpl-publisher.service"]
        if host.ansible.get_variables().get("tickstock_consumer_publisher_enabled")
        else []
    ):
        out = host.check_output("systemd-analyze security --no-pager %s", unit)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
        assert m, out[-500:]
        assert float(m.group(1)) <= MAX_EXPOSURE, f"{unit}: exposure {m.group(1)}"


def test_publisher_running_when_enabled(host):
    enabled = bool(
        host.ansible.get_variables().get("tickstock_consumer_publisher_enabled", False)
    )
    svc = host.service("tickstockpl-publisher")
    if not enabled:
        assert not host.file("/etc/systemd/system/tickstockpl-publisher.service").exists
        return
    assert svc.is_running and svc.is_enabled
    # Its own account, not the consumers'.
    pid = host.check_output("systemctl show --property=MainPID --value tickstockpl-publisher")
    assert host.check_output("ps -o user:40= -p %s", pid).strip() == "tickstockpl-publisher"


def test_ticks_split_between_instances(host):
    if not host.ansible.get_variables().get("tickstock_consumer_publisher_enabled"):
        pytest.skip("no publisher: nothing produces ticks")
    instances = _instances(host)
    counts = wait_for(
        lambda: (c := [_ticks_processed(host, i) for i in instances]) and all(c) and c,
        timeout=60, interval=2.0,
    )
    assert counts and all(c > 0 for c in counts), (
        f"ticks processed per instance: {counts}"
    )
    group = _py(
        host,
        f"""
g = [x for x in r.xinfo_groups({STREAM!r}) if x["name"] == {GROUP!r}][0]
c = r.xinfo_consumers({STREAM!r}, {GROUP!r})
print(json.dumps({{"group": g, "consumers": [x["name"] for x in c]}}, default=str))
""",
    )
    names = set(group["consumers"])
    assert {f"{host.backend.get_hostname()}-{i}" for i in instances} <= names, names
    assert int(group["group"]["entries-read"] or 0) > 0


def test_pattern_events_published(host):
    if not host.ansible.get_variables().get("tickstock_consumer_publisher_enabled"):
        pytest.skip("no publisher: nothing produces ticks")
    # Either an event arrives on the channel while we listen, or the consumers'
    # record of published events (tickstockpl:pattern:<id>, one key per event) has some.
    seen = _py(
        host,
        f"""
import time
p = r.pubsub(ignore_subscribe_messages=True)
p.subscribe({PATTERNS!r})
got = None
deadline = time.time() + 20
while time.time() < deadline and got is None:
    m = p.get_message(timeout=1.0)
    if m and m["type"] == "message":
        got = json.loads(m["data"])
keys = sum(1 for _ in r.scan_iter(match="tickstockpl:pattern:*", count=1000))
print(json.dumps({{"event": got, "recorded": keys}}))
""",
    )
    assert seen["event"] is not None or seen["recorded"] > 0, seen
    if seen["event"] is not None:
        assert seen["event"]["event_type"] == "pattern_detected"
        assert seen["event"]["source"] == "tickstock_pl"


def test_malformed_tick_is_dead_lettered_and_consumers_survive(host):
    pids = {
        i: _show(host, f"tickstockpl@{i}.service", "MainPID")["MainPID"]
        for i in _instances(host)
    }
    marker = f"not-json-{uuid.uuid4().hex}"
    entry = _py(host, f"print(json.dumps(r.xadd({STREAM!r}, {{'data': {marker!r}}})))")

    def dead_letter():
        return _py(
            host,
            f"""
hit = [f for _id, f in r.xrevrange({DEAD!r}, count=200) if f.get("entry_id") == {entry!r}]
print(json.dumps(hit[0] if hit else None))
""",
        )

    dead = wait_for(dead_letter, timeout=30, interval=2.0)
    assert dead, f"entry {entry} never reached {DEAD}"
    assert dead["reason"] == "invalid_json" and marker in dead["payload"], dead
    for i, pid in pids.items():
        props = _show(host, f"tickstockpl@{i}.service", "MainPID", "ActiveState")
        assert props == {"MainPID": pid, "ActiveState": "active"}, (i, pid, props)


def test_no_restart_since_recorded(host):
    """The idempotence converge (and the drills since) left the processes alone."""
    record = host.file("/var/tmp/tscon-processes.json")
    if not record.exists:
        pytest.skip("no record of the processes (not run by molecule/default)")
    before = json.loads(record.content_string)
    for i in _instances(host):
        now = host.check_output(
            "systemctl show --property=MainPID,ActiveEnterTimestamp tickstockpl@%s.service",
            str(i),
        )
        assert now == before[str(i)], (
            f"tickstockpl@{i} restarted: {before[str(i)]!r} -> {now!r}"
        )


def test_pubsub_instances_receive_ticks(host):
    """The spec's primary path runs live: pub/sub instances subscribe and count ticks."""
    fact = json.loads(host.file("/etc/ansible/facts.d/tickstockpl.fact").content_string)
    pubsub = [i for i in fact.get("instances", []) if i["mode"] == "pubsub"]
    if not pubsub:
        pytest.skip("no pub/sub instance in this inventory")
    if not host.ansible.get_variables().get("tickstock_consumer_publisher_enabled"):
        pytest.skip("no publisher: nothing produces ticks")
    for inst in pubsub:
        assert host.service(f"tickstockpl@{inst['id']}").is_running, inst
        status, body = _http(host, inst["port"], "/readyz")
        assert status == 200, (inst, body)
        counted = wait_for(lambda p=inst["id"]: _ticks_processed(host, p) > 0, timeout=30, interval=2.0)
        assert counted, f"pub/sub instance {inst} processed no tick"
        _, metrics = _http(host, inst["port"], "/metrics")
        assert re.search(r"^tickstockpl_connected\s+1(\.0)?$", metrics, re.MULTILINE), inst
