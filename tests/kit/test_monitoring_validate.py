"""The redis_exporter and prometheus roles stop a bad run and name the variable.

Each case runs the real ansible-playbook on localhost with the roles'
`validate` entry point (argument_specs, then tasks/validate.yml), as the
preflight of site.yml does: nothing is changed.
"""

import json
import os
import subprocess

import pytest
from conftest import ROOT

SECRETS = {"redis_monitor": "a-redis-monitor-password", "sentinel_monitor": "a-sentinel-monitor-password"}
FACTS = {"default_ipv4": {"address": "10.9.0.2"}}


def run(tmp_path, role, extra):
    playbook = tmp_path / "validate.yml"
    playbook.write_text(json.dumps([{
        "hosts": "m1",
        "gather_facts": False,
        "tasks": [
            {"ansible.builtin.set_fact": {"ansible_facts": FACTS}},
            {"ansible.builtin.include_role": {"name": role, "tasks_from": "validate"}},
        ],
    }]))
    # An inventory file, as operators write them: the contract plugin offers its variables to it.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"m1": {}}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(playbook),
         "-e", json.dumps({"tickstock_secrets": SECRETS, **extra})],
        check=False, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )


@pytest.mark.parametrize("role", ["redis_exporter", "prometheus"])
def test_defaults_pass(tmp_path, role):
    res = run(tmp_path, role, {})
    assert res.returncode == 0, res.stdout[-3000:]


EXPORTER_CASES = [
    ("redis_exporter_redis_web_port", {"redis_exporter_redis_web_port": 70000}),
    ("redis_exporter_sentinel_web_port: must differ", {"redis_exporter_sentinel_web_port": 9121}),
    ("redis_exporter_allowed_sources", {"redis_exporter_allowed_sources": ["any"]}),
    ("redis_exporter_allowed_sources", {"redis_exporter_allowed_sources": ["prometheus.example"]}),
    ("redis_exporter_streams", {"redis_exporter_streams": ["a,b"]}),
    ("redis_exporter_connection_timeout_s", {"redis_exporter_connection_timeout_s": 0}),
    ("redis_exporter_memory_max", {"redis_exporter_memory_max": "lots"}),
    ("redis_exporter_listen_address", {"redis_exporter_listen_address": "10.0.0.1 10.0.0.2"}),
    ("redis_exporter_tls", {"redis_exporter_tls": "sometimes"}),
    ("tickstock_secrets: lacks sentinel_monitor", {"tickstock_secrets": {"redis_monitor": "a-redis-monitor-password"}}),
    ("tickstock_secrets: redis_monitor: must be at least",
     {"tickstock_secrets": {**SECRETS, "redis_monitor": "short"}}),
]

PROMETHEUS_CASES = [
    ("prometheus_scrape_interval", {"prometheus_scrape_interval": "15"}),
    ("prometheus_retention_time", {"prometheus_retention_time": "two weeks"}),
    ("prometheus_web_listen_address", {"prometheus_web_listen_address": "127.0.0.1"}),
    ("prometheus_alertmanagers", {"prometheus_alertmanagers": ["am.example"]}),
    ("prometheus_tickstock_dir", {"prometheus_tickstock_dir": "etc/prometheus"}),
    ("prometheus_memory_max", {"prometheus_memory_max": "1 GB"}),
    ("prometheus_rule_files: no rule file", {"prometheus_rule_files": []}),
    ("prometheus_manage_server", {"prometheus_manage_server": "perhaps"}),
]


@pytest.mark.parametrize(
    ("role", "variable", "extra"),
    [("redis_exporter", *c) for c in EXPORTER_CASES] + [("prometheus", *c) for c in PROMETHEUS_CASES],
    ids=[f"redis_exporter-{i}" for i in range(len(EXPORTER_CASES))]
    + [f"prometheus-{i}" for i in range(len(PROMETHEUS_CASES))],
)
def test_bad_value_fails_naming_the_variable(tmp_path, role, variable, extra):
    res = run(tmp_path, role, extra)
    assert res.returncode != 0, f"{extra} passed"
    assert variable in res.stdout, res.stdout[-3000:]
    assert "a-redis-monitor-password" not in res.stdout + res.stderr, "a password was printed"
