"""Monitoring after site.yml: redis_exporter on the Redis hosts, Prometheus on the monitoring host.

Runs under Molecule (molecule/monitoring) or against any inventory with a monitoring group:
    pytest --ansible-inventory=inventories/lab --connection=ansible tests/infra/test_monitoring.py
Every test is skipped when the inventory has no monitoring host.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import testinfra
import yaml
from conftest import CONTRACT, current, every_password, secrets_of, wait_for
from testinfra.utils.ansible_runner import AnsibleRunner

INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE") or os.environ.get(
    "TESTINFRA_INVENTORY", os.path.join(os.path.dirname(__file__), "../../inventories/lab")
)
_runner = AnsibleRunner(INVENTORY)
MONITORING = _runner.get_hosts("monitoring")
REDIS = _runner.get_hosts("redis_servers")
CONSUMERS = _runner.get_hosts("tickstock_consumers")
testinfra_hosts = [f"ansible://{h}?ansible_inventory={INVENTORY}" for h in REDIS] if MONITORING else []
pytestmark = pytest.mark.skipif(not MONITORING, reason="no monitoring host in this inventory")

RULES_DIR = Path(__file__).resolve().parents[2] / "monitoring" / "rules"
INSTANCES = ["redis", "sentinel"]
CONFIG_DIR = "/etc/prometheus-redis-exporter"
MAX_EXPOSURE = 2.0
PROMETHEUS = "http://127.0.0.1:9090"


def _host(name: str):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def _get(host, url: str, timeout: float = 5) -> tuple[int, str]:
    """GET from the host itself; status -1 when the connection fails or times out."""
    code = (
        "import json, urllib.request, urllib.error\n"
        "try:\n"
        f"    r = urllib.request.urlopen({url!r}, timeout={timeout})\n"
        "    print(json.dumps([r.status, r.read().decode()]))\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(json.dumps([e.code, e.read().decode()]))\n"
        "except OSError as e:\n"
        "    print(json.dumps([-1, str(e)]))\n"
    )
    status, body = json.loads(host.check_output("python3 -c %s", code))
    return status, body


def _endpoints(host) -> dict[str, str]:
    return json.loads(host.file("/etc/ansible/facts.d/redis_exporter.fact").content_string)["endpoints"]


def _api(path: str):
    status, body = _get(_host(MONITORING[0]), PROMETHEUS + path)
    assert status == 200, body[-500:]
    reply = json.loads(body)
    assert reply["status"] == "success", reply
    return reply["data"]


def _exposure(host, unit: str) -> float:
    out = host.check_output("systemd-analyze security --no-pager %s", unit)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    assert m, out[-500:]
    return float(m.group(1))


# --- The exporters, on every Redis host ---


@pytest.mark.parametrize("instance", INSTANCES)
def test_exporter_instances_active_and_enabled(host, instance):
    unit = host.service(f"prometheus-redis-exporter@{instance}")
    assert unit.is_running
    assert unit.is_enabled


def test_debian_single_instance_unit_masked(host):
    out = host.run("systemctl is-enabled prometheus-redis-exporter.service")
    assert out.stdout.strip() == "masked"
    assert not host.service("prometheus-redis-exporter").is_running


def test_passwords_only_in_files_of_the_exporter_account(host):
    """0600 files of redis-exporter; never on argv, in the environment or in the options."""
    every = secrets_of(host)
    secrets = {"redis": current(every["redis_monitor"]), "sentinel": current(every["sentinel_monitor"])}
    # No password of the kit at all may show up where the exporter runs.
    everything = every_password(every)
    directory = host.file(CONFIG_DIR)
    assert (directory.user, directory.group, directory.mode) == ("root", "redis-exporter", 0o750)
    assert host.user("redis-exporter").shell == "/usr/sbin/nologin"
    for instance, secret in secrets.items():
        pw = host.file(f"{CONFIG_DIR}/{instance}.password.json")
        assert (pw.user, pw.mode) == ("redis-exporter", 0o600)
        assert secret in pw.content_string
        env = host.file(f"{CONFIG_DIR}/{instance}.env")
        assert (env.user, env.mode) == ("root", 0o600)
        pid = host.check_output("systemctl show -p MainPID --value prometheus-redis-exporter@%s", instance)
        assert int(pid) > 0
        cmdline = host.file(f"/proc/{pid}/cmdline").content_string.replace("\0", " ")
        environ = host.file(f"/proc/{pid}/environ").content_string
        assert f"-redis.password-file={CONFIG_DIR}/{instance}.password.json" in cmdline
        assert host.check_output("stat -c %%U /proc/%s", pid) == "redis-exporter"
        for name, text in (("argv", cmdline), ("environment", environ), ("options", env.content_string)):
            for other in everything:
                assert other not in text, f"a password is in the {name} of the {instance} exporter"


def test_fact_lists_both_endpoints(host):
    endpoints = _endpoints(host)
    assert sorted(endpoints) == INSTANCES
    assert endpoints["redis"].endswith(":9121") and endpoints["sentinel"].endswith(":9355")


def test_exporter_sandbox_exposure(host):
    exposure = _exposure(host, "prometheus-redis-exporter@redis.service")
    assert exposure <= MAX_EXPOSURE, exposure


def test_monitoring_host_reads_redis_and_sentinel_metrics(host):
    monitor = _host(MONITORING[0])
    endpoints = _endpoints(host)
    status, redis = _get(monitor, f"http://{endpoints['redis']}/metrics")
    assert status == 200, redis[-300:]
    assert re.search(r"^redis_up 1$", redis, re.MULTILINE)
    assert re.search(r'^redis_instance_info\{.*role="(master|slave)"', redis, re.MULTILINE)
    assert f'stream="{CONTRACT["stream"]}"' in redis, "the tick stream is not exported"
    delivered = rf'^redis_stream_group_last_delivered_id\{{.*group="{CONTRACT["group"]}"'
    assert re.search(delivered, redis, re.MULTILINE), "the consumer group is not exported"
    status, sentinel = _get(monitor, f"http://{endpoints['sentinel']}/metrics")
    assert status == 200, sentinel[-300:]
    assert re.search(r"^redis_up 1$", sentinel, re.MULTILINE)
    master = CONTRACT["master_name"]
    assert re.search(
        rf'^redis_sentinel_master_ok_sentinels\{{.*master_name="{master}"\}} {len(REDIS)}$', sentinel, re.MULTILINE
    ), [line for line in sentinel.splitlines() if line.startswith("redis_sentinel_master")]
    quorum = rf'^redis_sentinel_master_ckquorum_status\{{master_name="{master}",.*\}} 1$'
    assert re.search(quorum, sentinel, re.MULTILINE)


def test_other_hosts_are_refused(host):
    """IPAddressAllow= admits only the monitoring hosts: a consumer host gets no answer."""
    if not CONSUMERS:
        pytest.skip("no other host to try from")
    other = _host(CONSUMERS[0])
    for name, endpoint in _endpoints(host).items():
        status, body = _get(other, f"http://{endpoint}/metrics", timeout=3)
        assert status == -1, f"{CONSUMERS[0]} reached the {name} exporter: {status} {body[:100]}"


def test_consumer_metrics_only_from_the_monitoring_host(host):
    """The consumers' /metrics answer the monitoring host and nobody else (issue 12)."""
    if not _first(host) or not CONSUMERS:
        pytest.skip("cluster-wide, and needs a consumer host")
    consumer = _host(CONSUMERS[0])
    urls = [t["scrapeUrl"] for t in _api("/api/v1/targets?state=active")["activeTargets"]
            if t["labels"]["job"] == "tickstockpl"]
    assert urls, "Prometheus has no consumer target"
    for url in urls:
        status, body = _get(_host(MONITORING[0]), url)
        assert status == 200 and "tickstockpl_connected" in body, (url, status)
    # The consumer closes other hosts' connections unanswered (TICKSTOCKPL_HTTP_ALLOW).
    assert consumer.check_output("grep -c '^TICKSTOCKPL_HTTP_ALLOW=' /etc/tickstockpl/tickstockpl.env") == "1"
    for url in urls:
        status, _ = _get(host, url, timeout=3)
        assert status == -1, f"{REDIS[0]} reached the consumer endpoint {url}"


# --- Prometheus, on the monitoring host (cluster-wide: run once, from the first Redis host) ---


@pytest.fixture(scope="module")
def monitor():
    return _host(MONITORING[0])


def _first(host) -> bool:
    return host.backend.get_hostname() == REDIS[0]


def test_prometheus_active_enabled_and_hardened(host, monitor):
    if not _first(host):
        pytest.skip("cluster-wide")
    unit = monitor.service("prometheus")
    assert unit.is_running and unit.is_enabled
    assert _exposure(monitor, "prometheus.service") <= MAX_EXPOSURE
    assert monitor.check_output("promtool check config /etc/prometheus/prometheus.yml")


def test_prometheus_rules_are_the_repositorys(host, monitor):
    if not _first(host):
        pytest.skip("cluster-wide")
    for path in sorted(RULES_DIR.glob("*.yml")):
        deployed = monitor.file(f"/etc/prometheus/tickstock/rules/{path.name}")
        assert deployed.content_string == path.read_text(), path.name


def test_every_target_up(host, monitor):
    if not _first(host):
        pytest.skip("cluster-wide")
    per_host = [len(json.loads(_host(c).file("/etc/ansible/facts.d/tickstockpl.fact").content_string)["instances"])
                for c in CONSUMERS]
    expected = {
        "tickstock_redis": len(REDIS),
        "tickstock_sentinel": len(REDIS),
        "tickstockpl": sum(per_host),
        "prometheus": 1,
    }

    def all_up():
        targets = _api("/api/v1/targets?state=active")["activeTargets"]
        jobs: dict[str, int] = {}
        for t in targets:
            if t["health"] == "up":
                jobs[t["labels"]["job"]] = jobs.get(t["labels"]["job"], 0) + 1
        return jobs == expected and targets

    targets = wait_for(all_up, timeout=60, interval=2)
    assert targets, [(t["scrapeUrl"], t["health"], t["lastError"]) for t in _api("/api/v1/targets")["activeTargets"]]
    master = CONTRACT["master_name"]
    assert {t["labels"]["cluster"] for t in targets if t["labels"]["job"] != "prometheus"} == {master}


def test_every_rule_loaded_and_evaluating(host, monitor):
    if not _first(host):
        pytest.skip("cluster-wide")
    wanted = {
        rule.get("alert") or rule["record"]
        for path in RULES_DIR.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }

    def evaluated():
        rules = [r for g in _api("/api/v1/rules")["groups"] for r in g["rules"]]
        return rules if all(r.get("lastEvaluation", "").startswith("20") for r in rules) else None

    rules = wait_for(evaluated, timeout=30, interval=2)
    assert rules, "rules not evaluated yet"
    assert {r["name"] for r in rules} == wanted
    bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not bad, bad


def test_metrics_match_the_rules(host, monitor):
    """The series the rules select on exist with the labels they expect."""
    if not _first(host):
        pytest.skip("cluster-wide")

    def query(expr):
        return _api("/api/v1/query?query=" + urllib.parse.quote(expr))["result"]

    masters = wait_for(lambda: query('count(redis_instance_info{job="tickstock_redis",role="master"})'), timeout=30)
    assert masters and masters[0]["value"][1] == "1"
    addresses = query('count by (master_address) (redis_sentinel_master_status{job="tickstock_sentinel"})')
    assert len(addresses) == 1 and addresses[0]["value"][1] == str(len(REDIS)), addresses
    delay = wait_for(lambda: query("tickstock:stream_group_delay_seconds"), timeout=30)
    assert delay, "tickstock:stream_group_delay_seconds has no series"
    assert {(d["metric"]["stream"], d["metric"]["group"]) for d in delay} == {(CONTRACT["stream"], CONTRACT["group"])}
    assert all(float(d["value"][1]) < 30 for d in delay), delay
    if CONSUMERS:
        assert query('sum(tickstockpl_connected{job="tickstockpl"})'), "no consumer metrics"


def test_no_critical_alert_firing(host, monitor):
    if not _first(host):
        pytest.skip("cluster-wide")
    alerts = _api("/api/v1/alerts")["alerts"]
    firing = [(a["labels"]["alertname"], a["labels"].get("instance")) for a in alerts
              if a["state"] == "firing" and a["labels"].get("severity") == "critical"]
    assert not firing, firing


def test_status_playbook_shows_the_alerts(host):
    """playbooks/status.yml ends with Prometheus's alerts (test_redis.py checks the rest of it)."""
    if not _first(host):
        pytest.skip("cluster-wide")
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY, str(root / "playbooks" / "status.yml")],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg")},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(rf"ALERTS on {re.escape(MONITORING[0])}: \d+ firing, \d+ pending", run.stdout), run.stdout[-3000:]
