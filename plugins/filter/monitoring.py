"""Prometheus scrape targets from what the roles deployed.

    hostvars | tickstock_exporter_targets(hosts, cluster)
        -> {"jobs": {"tickstock_redis": [sd], "tickstock_sentinel": [sd]}, "problems": [str]}
    hostvars | tickstock_consumer_targets(hosts, cluster, fallback)
        -> {"jobs": {"tickstockpl": [sd]}, "problems": [str]}
    reply | tickstock_alert_state(alertname) -> "firing", "pending", "inactive" or "unknown"
        (reply: the JSON of Prometheus's GET /api/v1/alerts)

An ``sd`` is one entry of a Prometheus file_sd file: ``{"targets": [...],
"labels": {...}}``. Targets come from local facts, so Prometheus scrapes what
was deployed, not what the inventory guesses:

* the redis_exporter role writes ``/etc/ansible/facts.d/redis_exporter.fact``
  with ``{"endpoints": {"redis": "addr:port", "sentinel": "addr:port"}}``;
* the tickstock_consumer role's ``tickstockpl.fact`` lists every instance
  (``"instances": [{"id": 1, "mode": "stream", "port": 9108}, ...]``, the
  pub/sub ones from id 101). The address is the fact's ``http_host`` if it
  has one, else the inventory's tickstock_consumer_http_host (the host's
  default address when it is a wildcard), with ``fallback`` for what the
  inventory does not set; a fact
  without the list (a consumer role from before it) gives instances
  1..tickstock_consumer_instances on tickstock_consumer_http_port_base + N - 1.

The job names are the ones monitoring/rules/*.yml select on; they are written
here and in the rules only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Exporter instance (key of the fact's "endpoints") -> Prometheus job.
EXPORTER_JOBS = {"redis": "tickstock_redis", "sentinel": "tickstock_sentinel"}
CONSUMER_JOB = "tickstockpl"

_WILDCARDS = ("0.0.0.0", "::", "")


def _local(hostvars: Mapping[str, Any], host: str, fact: str) -> Mapping[str, Any] | None:
    host_vars = hostvars.get(host)
    if not isinstance(host_vars, Mapping):
        return None
    local = host_vars.get("ansible_local")
    if not isinstance(local, Mapping):
        facts = host_vars.get("ansible_facts")
        local = facts.get("ansible_local") if isinstance(facts, Mapping) else None
    value = local.get(fact) if isinstance(local, Mapping) else None
    return value if isinstance(value, Mapping) else None


def _default_ipv4(host_vars: Mapping[str, Any]) -> str | None:
    facts = host_vars.get("ansible_facts")
    for source in (facts if isinstance(facts, Mapping) else {}, host_vars):
        for key in ("default_ipv4", "ansible_default_ipv4"):
            value = source.get(key)
            if isinstance(value, Mapping) and value.get("address"):
                return str(value["address"])
    return None


def _labels(cluster: str, instance: str, **extra: str) -> dict[str, str]:
    return {"cluster": cluster, "instance": instance, **extra}


def exporter_targets(hostvars: Mapping[str, Any], hosts: Iterable[str], cluster: str) -> dict[str, Any]:
    """file_sd entries of every exporter the redis_exporter role deployed on ``hosts``."""
    jobs: dict[str, list[dict[str, Any]]] = {job: [] for job in EXPORTER_JOBS.values()}
    problems = []
    for host in hosts:
        fact = _local(hostvars, host, "redis_exporter")
        endpoints = fact.get("endpoints") if fact else None
        if not isinstance(endpoints, Mapping) or not endpoints:
            problems.append(
                f"{host}: no exporter endpoints in /etc/ansible/facts.d/redis_exporter.fact; "
                "run the redis_exporter role there first"
            )
            continue
        for name, address in sorted(endpoints.items()):
            job = EXPORTER_JOBS.get(name)
            if job is None:
                problems.append(f"{host}: unknown exporter instance {name!r} in redis_exporter.fact")
                continue
            jobs[job].append({"targets": [str(address)], "labels": _labels(cluster, host)})
    return {"jobs": jobs, "problems": problems}


def _address(host: str, host_vars: Mapping[str, Any], fact: Mapping[str, Any] | None,
             fallback: Mapping[str, Any]) -> tuple[str, str]:
    """The address Prometheus reaches the host's consumers at, or a problem."""
    listen = str((fact or {}).get("http_host")
                 or host_vars.get("tickstock_consumer_http_host", fallback.get("http_host")) or "")
    if listen in _WILDCARDS:
        listen = _default_ipv4(host_vars) or ""
        if not listen:
            return "", f"{host}: the consumers listen on all addresses, but the host's address is unknown (no facts)"
    try:
        loopback = listen == "localhost" or ipaddress.ip_address(listen).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return "", (
            f"{host}: the consumers' /metrics listen on {listen} only; set tickstock_consumer_http_host to an "
            "address Prometheus can reach (and tickstock_consumer_http_expose: true)"
        )
    return (f"[{listen}]" if ":" in listen else listen), ""


def _instances(host_vars: Mapping[str, Any], fact: Mapping[str, Any] | None,
               fallback: Mapping[str, Any]) -> list[tuple[int, int, str]]:
    """(id, port, mode) of every instance: from the fact, else from the inventory."""
    listed = fact.get("instances") if fact else None
    if isinstance(listed, list):
        return [(int(i["id"]), int(i["port"]), str(i.get("mode", "stream"))) for i in listed]
    base = int(host_vars.get("tickstock_consumer_http_port_base", fallback.get("http_port_base")))
    count = int(host_vars.get("tickstock_consumer_instances", fallback.get("instances")))
    return [(n, base + n - 1, "stream") for n in range(1, count + 1)]


def consumer_targets(
    hostvars: Mapping[str, Any], hosts: Iterable[str], cluster: str, fallback: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """file_sd entries of every tickstockpl@N instance on ``hosts``: one per instance."""
    fallback = fallback or {}
    entries: list[dict[str, Any]] = []
    problems = []
    for host in hosts:
        host_vars = hostvars.get(host)
        if not isinstance(host_vars, Mapping):
            problems.append(f"{host}: no variables (not in the inventory?)")
            continue
        fact = _local(hostvars, host, "tickstockpl")
        try:
            instances = _instances(host_vars, fact, fallback)
        except (KeyError, TypeError, ValueError):
            problems.append(f"{host}: cannot read the consumer instances (tickstockpl.fact or tickstock_consumer_*)")
            continue
        address, problem = _address(host, host_vars, fact, fallback)
        if problem:
            problems.append(problem)
            continue
        for number, port, mode in sorted(instances):
            entries.append({
                "targets": [f"{address}:{port}"],
                "labels": _labels(cluster, f"{host}/tickstockpl@{number}", mode=mode),
            })
    return {"jobs": {CONSUMER_JOB: entries}, "problems": problems}


def alert_state(reply: Any, alertname: str) -> str:
    """The state of an alert in a GET /api/v1/alerts reply: firing wins over pending."""
    data = reply.get("data") if isinstance(reply, Mapping) and reply.get("status") == "success" else None
    alerts = data.get("alerts") if isinstance(data, Mapping) else None
    if not isinstance(alerts, list):
        return "unknown"
    states = {a.get("state") for a in alerts
              if isinstance(a, Mapping) and isinstance(a.get("labels"), Mapping)
              and a["labels"].get("alertname") == alertname}
    for state in ("firing", "pending"):
        if state in states:
            return state
    return "inactive"


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "tickstock_exporter_targets": exporter_targets,
            "tickstock_consumer_targets": consumer_targets,
            "tickstock_alert_state": alert_state,
        }
