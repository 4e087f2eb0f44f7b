from __future__ import annotations

import pytest
from tickstock_checks import tickstock_invalid

from monitoring import alert_state, consumer_targets, exporter_targets

FALLBACK = {"http_host": "127.0.0.1", "http_port_base": 9108, "instances": 1}


def exporter_host(address: str) -> dict[str, object]:
    endpoints = {"redis": f"{address}:9121", "sentinel": f"{address}:9355"}
    return {"ansible_local": {"redis_exporter": {"endpoints": endpoints}}}


def test_exporter_targets_one_entry_per_host_and_job() -> None:
    hostvars = {"r1": exporter_host("10.0.0.1"), "r2": exporter_host("10.0.0.2")}
    out = exporter_targets(hostvars, ["r1", "r2"], "c")
    assert out["problems"] == []
    assert out["jobs"]["tickstock_redis"] == [
        {"targets": ["10.0.0.1:9121"], "labels": {"cluster": "c", "instance": "r1"}},
        {"targets": ["10.0.0.2:9121"], "labels": {"cluster": "c", "instance": "r2"}},
    ]
    assert [e["targets"] for e in out["jobs"]["tickstock_sentinel"]] == [["10.0.0.1:9355"], ["10.0.0.2:9355"]]


def test_exporter_targets_read_facts_gathered_into_ansible_facts() -> None:
    hostvars = {"r1": {"ansible_facts": {"ansible_local": exporter_host("10.0.0.1")["ansible_local"]}}}
    assert exporter_targets(hostvars, ["r1"], "c")["jobs"]["tickstock_redis"][0]["targets"] == ["10.0.0.1:9121"]


def test_exporter_targets_without_sentinel_instance() -> None:
    hostvars = {"r1": {"ansible_local": {"redis_exporter": {"endpoints": {"redis": "10.0.0.1:9121"}}}}}
    out = exporter_targets(hostvars, ["r1"], "c")
    assert out["jobs"]["tickstock_sentinel"] == [] and len(out["jobs"]["tickstock_redis"]) == 1


@pytest.mark.parametrize(
    "host_vars",
    [{}, {"ansible_local": {}}, {"ansible_local": {"redis_exporter": {"endpoints": {}}}}, None],
)
def test_exporter_targets_name_hosts_without_the_fact(host_vars: object) -> None:
    out = exporter_targets({"r1": host_vars}, ["r1"], "c")
    assert out["jobs"]["tickstock_redis"] == []
    assert out["problems"] and out["problems"][0].startswith("r1: no exporter endpoints")


def test_exporter_targets_unknown_instance() -> None:
    hostvars = {"r1": {"ansible_local": {"redis_exporter": {"endpoints": {"valkey": "10.0.0.1:9121"}}}}}
    assert "unknown exporter instance 'valkey'" in exporter_targets(hostvars, ["r1"], "c")["problems"][0]


INSTANCES = [
    {"id": 1, "mode": "stream", "tickers": [], "port": 9108},
    {"id": 2, "mode": "stream", "tickers": [], "port": 9109},
    {"id": 101, "mode": "pubsub", "tickers": ["AAPL"], "port": 9208},
]


def test_consumer_targets_from_the_fact() -> None:
    hostvars = {"c1": {"ansible_local": {"tickstockpl": {"instances": INSTANCES}},
                       "tickstock_consumer_http_host": "10.0.0.5"}}
    out = consumer_targets(hostvars, ["c1"], "c", FALLBACK)
    assert out["problems"] == []
    assert out["jobs"]["tickstockpl"] == [
        {"targets": ["10.0.0.5:9108"], "labels": {"cluster": "c", "instance": "c1/tickstockpl@1", "mode": "stream"}},
        {"targets": ["10.0.0.5:9109"], "labels": {"cluster": "c", "instance": "c1/tickstockpl@2", "mode": "stream"}},
        {"targets": ["10.0.0.5:9208"], "labels": {"cluster": "c", "instance": "c1/tickstockpl@101", "mode": "pubsub"}},
    ]


def test_consumer_targets_address_from_the_fact_first() -> None:
    hostvars = {"c1": {"ansible_local": {"tickstockpl": {"instances": INSTANCES[:1], "http_host": "10.0.0.7"}}}}
    assert consumer_targets(hostvars, ["c1"], "c", FALLBACK)["jobs"]["tickstockpl"][0]["targets"] == ["10.0.0.7:9108"]


def test_consumer_targets_fallback_from_inventory_variables() -> None:
    hostvars = {
        "c1": {
            "ansible_local": {"tickstockpl": {"release": "x"}},
            "tickstock_consumer_http_host": "10.0.0.5",
            "tickstock_consumer_instances": 3,
            "tickstock_consumer_http_port_base": "9200",
        }
    }
    out = consumer_targets(hostvars, ["c1"], "c", FALLBACK)
    assert [e["targets"][0] for e in out["jobs"]["tickstockpl"]] == ["10.0.0.5:9200", "10.0.0.5:9201", "10.0.0.5:9202"]


def test_consumer_targets_fallback_wildcard_uses_the_default_address() -> None:
    facts = {"default_ipv4": {"address": "10.0.0.9"}}
    hostvars = {"c1": {"tickstock_consumer_http_host": "0.0.0.0", "ansible_facts": facts}}
    out = consumer_targets(hostvars, ["c1"], "c", FALLBACK)
    assert [e["targets"][0] for e in out["jobs"]["tickstockpl"]] == ["10.0.0.9:9108"]
    ipv6 = {"c1": {"tickstock_consumer_http_host": "fd00::5"}}
    assert consumer_targets(ipv6, ["c1"], "c", FALLBACK)["jobs"]["tickstockpl"][0]["targets"] == ["[fd00::5]:9108"]


@pytest.mark.parametrize(
    ("host_vars", "expected"),
    [
        ({}, "listen on 127.0.0.1 only"),
        ({"tickstock_consumer_http_host": "localhost"}, "listen on localhost only"),
        ({"tickstock_consumer_http_host": "0.0.0.0"}, "address is unknown"),
        ({"tickstock_consumer_http_host": "10.0.0.5", "tickstock_consumer_instances": "two"}, "cannot read"),
        ({"ansible_local": {"tickstockpl": {"instances": [{"id": 1}]}}}, "cannot read"),
    ],
)
def test_consumer_targets_problems(host_vars: dict[str, object], expected: str) -> None:
    out = consumer_targets({"c1": host_vars}, ["c1"], "c", FALLBACK)
    assert out["jobs"]["tickstockpl"] == []
    assert expected in out["problems"][0]


@pytest.mark.parametrize(
    ("rule", "value", "ok"),
    [
        ("ip_allow", ["10.0.0.2", "10.1.0.0/16", "fd00::/8", "localhost"], True),
        ("ip_allow", [], True),
        ("ip_allow", ["any"], False),
        ("ip_allow", ["monitoring.example"], False),
        ("ip_allow", "10.0.0.2", False),
        ("plain_names", ["stream", "stream:dead"], True),
        ("plain_names", ["a,b"], False),
        ("plain_names", ["a b"], False),
        ("plain_names", [""], False),
        ("abs_path", "/etc/ssl/ca.pem", True),
        ("abs_path", "ca.pem", False),
        ("abs_path", "", False),
        ("duration", "15s", True),
        ("duration", "1m30s", True),
        ("duration", "15", False),
        ("duration", 15, False),
        ("port", 9121, True),
        ("port", 0, False),
    ],
)
def test_monitoring_invalid_rules(rule: str, value: object, ok: bool) -> None:
    problems = tickstock_invalid([["v", value, rule]])
    assert (problems == []) is ok, problems
    if not ok:
        assert problems[0].startswith("v: ")


def test_monitoring_invalid_hides_passwords() -> None:
    problems = tickstock_invalid([["redis_exporter_redis_password", "short", "password"]])
    assert problems and "short" not in problems[0]


def test_alert_state() -> None:
    def reply(*alerts: tuple[str, str]) -> dict[str, object]:
        return {"status": "success", "data": {"alerts": [
            {"labels": {"alertname": name}, "state": state} for name, state in alerts]}}

    assert alert_state(reply(("A", "pending"), ("A", "firing")), "A") == "firing"
    assert alert_state(reply(("A", "pending"), ("B", "firing")), "A") == "pending"
    assert alert_state(reply(("B", "firing")), "A") == "inactive"
    assert alert_state({"status": "error"}, "A") == "unknown" and alert_state(None, "A") == "unknown"
