"""The tables playbooks/status.yml prints, from what the hosts answered.

    tickstock_metrics(text)                      -> {metric name: value summed over its labels}
    tickstock_sentinel_table(replies)            -> lines; replies: {sentinel: tickstock_redis result of
                                                    SENTINEL MASTER <name>, or None}
    tickstock_replication_table(infos)           -> lines; infos: {server: result of `INFO replication`, or None}
    tickstock_consumer_table(consumers)          -> lines; consumers: {host: {instances (the role's local
                                                    fact: [{id, mode, port}]), units, metrics, ready,
                                                    publisher (registered results)}, or None}
    tickstock_stream_table(streams, stream)      -> lines; streams: {master: tickstock_redis result of
                                                    XLEN, XINFO GROUPS, XLEN dead, XREVRANGE dead, SUBSCRIBE
                                                    (+ messages), with sample_s}

A host whose answer is None (unreachable, or not asked) gets a row saying so.
Metric names are read whether or not they end in `_total`.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from redis_replies import parse_info, parse_pairs
from tickstock_resp import info_replicas  # on sys.path once redis_replies is loaded

_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\S+)?$")


def parse_metrics(text: Any) -> dict[str, float]:
    """Prometheus text format: every sample's value, summed per metric name over its labels."""
    out: dict[str, float] = {}
    for line in str(text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        try:
            value = float(match.group(3))
        except ValueError:
            continue
        out[match.group(1)] = out.get(match.group(1), 0.0) + value
    return out


def metric(metrics: Mapping[str, float], name: str) -> float | None:
    """A counter by name, with or without the `_total` suffix."""
    base = name.removesuffix("_total")
    for candidate in (name, base + "_total", base):
        if candidate in metrics:
            return metrics[candidate]
    return None


def _answer(result: Any) -> tuple[bool, str]:
    """(ok, text) of a registered command or tickstock_redis result; not ok when skipped, failed or missing."""
    if isinstance(result, Mapping) and "texts" in result and not result.get("skipped"):
        problem = next((e for e in result.get("errors") or [] if e), None) or (
            result.get("msg") if result.get("failed") else None)
        return (False, str(problem)) if problem else (True, str((result.get("texts") or [""])[0]))
    if not isinstance(result, Mapping) or result.get("skipped") or "rc" not in result:
        return False, "unreachable" if result is None else "not asked"
    out = str(result.get("stdout", ""))
    if result["rc"] != 0:
        return False, (out + " " + str(result.get("stderr", ""))).strip() or f"exit {result['rc']}"
    return True, out


def _json(result: Any, fallback: Any) -> Any:
    ok, out = _answer(result)
    if not ok or not out.strip():
        return fallback
    try:
        return json.loads(out)
    except ValueError:
        return fallback


def _row(fmt: str, *values: Any) -> str:
    return (fmt % values).rstrip()


SENTINEL_FMT = "%-16s %-21s %-8s %4s %4s %4s %5s %7s"


def sentinel_table(replies: Mapping[str, Any]) -> list[str]:
    lines = [_row(SENTINEL_FMT, "SENTINEL", "MASTER", "FLAGS", "REPL", "SENT", "QUOR", "EPOCH", "DOWN-MS")]
    for host, result in replies.items():
        ok, out = _answer(result)
        try:
            m = parse_pairs(out) if ok else {}
        except ValueError:
            m, ok = {}, False
        if result is None:
            lines.append(_row("%-18s UNREACHABLE", host))
            continue
        if not ok or not m:
            lines.append(_row("%-18s ERROR %s", host, out[:60]))
            continue
        sentinels = int(m.get("num-other-sentinels", "-1")) + 1
        lines.append(
            _row(
                SENTINEL_FMT,
                host,
                f"{m.get('ip', '?')}:{m.get('port', '?')}",
                m.get("flags", "?"),
                m.get("num-slaves", "?"),
                sentinels,
                m.get("quorum", "?"),
                m.get("config-epoch", "?"),
                m.get("down-after-milliseconds", "?"),
            )
        )
    return lines


REDIS_FMT = "%-18s %-7s %-5s %-12s %s"


def replication_table(infos: Mapping[str, Any]) -> list[str]:
    lines = [_row(REDIS_FMT, "REDIS", "ROLE", "LINK", "OFFSET", "DETAIL")]
    for host, result in infos.items():
        ok, out = _answer(result)
        info = parse_info(out) if ok else {}
        role = info.get("role")
        if role == "master":
            lines.append(
                _row(
                    REDIS_FMT,
                    host,
                    "master",
                    "-",
                    info.get("master_repl_offset", "?"),
                    f"{info.get('connected_slaves', '?')} replica(s) connected",
                )
            )
            for replica in info_replicas(info):
                lines.append(
                    _row(
                        "%-18s   %s:%s %s offset %s lag %s",
                        "",
                        replica.get("ip", "?"),
                        replica.get("port", "?"),
                        replica.get("state", "?"),
                        replica.get("offset", "?"),
                        replica.get("lag", "?"),
                    )
                )
        elif role:
            lines.append(
                _row(
                    REDIS_FMT,
                    host,
                    "replica",
                    info.get("master_link_status", "?"),
                    info.get("slave_repl_offset", "?"),
                    f"of {info.get('master_host', '?')}:{info.get('master_port', '?')}",
                )
            )
        else:
            lines.append(_row("%-18s UNREACHABLE", host) if result is None else _row("%-18s ERROR %s", host, out[:60]))
    return lines


CONSUMER_FMT = "%-19s %-8s %-6s %3s %-6s %-5s %-8s %-4s %-5s %-6s %s"


def _results(registered: Any) -> list[Any]:
    if isinstance(registered, Mapping):
        return list(registered.get("results") or [])
    return []


def _count(metrics: Mapping[str, float], name: str) -> int | str:
    """A counter as a whole number: "?" without metrics, 0 for a labelled counter with no sample yet."""
    if not metrics:
        return "?"
    value = metric(metrics, name)
    return 0 if value is None else int(value)


def _gauge(metrics: Mapping[str, float], name: str) -> int | str:
    """A gauge as a whole number: "-" when the instance does not export it (pub/sub), "?" when unknown (NaN)."""
    value = metrics.get(name)
    if value is None:
        return "-"
    return "?" if math.isnan(value) else int(value)


def consumer_rows(consumer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per instance: id, mode, state, pid, restarts, ready, ticks, bad, patterns, reconnects, queue_depth.

    An instance is an entry of the role's local fact ({id, mode, port}) or just its number.
    """
    units = _results(consumer.get("units"))
    metrics = _results(consumer.get("metrics"))
    ready = _results(consumer.get("ready"))
    rows = []
    for index, instance in enumerate(consumer.get("instances") or []):
        unit_ok, unit_out = _answer(units[index] if index < len(units) else None)
        unit = dict(line.split("=", 1) for line in unit_out.splitlines() if "=" in line) if unit_ok else {}
        body = metrics[index].get("content", "") if index < len(metrics) else ""
        values = parse_metrics(body)
        status = ready[index].get("status", -1) if index < len(ready) else -1
        entry = instance if isinstance(instance, Mapping) else {"id": instance}
        rows.append(
            {
                "instance": entry.get("id", "?"),
                "mode": entry.get("mode", "?"),
                "state": unit.get("ActiveState", "?"),
                "pid": unit.get("MainPID", "?"),
                "restarts": unit.get("NRestarts", "?"),
                "ready": status == 200,
                "ticks": _count(values, "tickstockpl_ticks_processed_total"),
                "bad": _count(values, "tickstockpl_bad_ticks_total"),
                "patterns": _count(values, "tickstockpl_pattern_events_total"),
                "reconnects": _count(values, "tickstockpl_reconnects_total"),
                "queue_depth": _gauge(values, "tickstockpl_queue_depth"),
            }
        )
    return rows


def consumer_table(consumers: Mapping[str, Any]) -> list[str]:
    lines = [_row(CONSUMER_FMT, "CONSUMER", "STATE", "PID", "RST", "MODE", "READY", "TICKS", "BAD", "PATS", "RECONN",
                  "QDEPTH")]
    for host, consumer in consumers.items():
        if not isinstance(consumer, Mapping):
            lines.append(_row("%-19s UNREACHABLE", host))
            continue
        if not consumer.get("instances"):
            lines.append(_row("%-19s NO INSTANCES in the local fact tickstockpl (run site.yml)", host))
        for r in consumer_rows(consumer):
            lines.append(
                _row(
                    CONSUMER_FMT,
                    f"{host}@{r['instance']}",
                    r["state"],
                    r["pid"],
                    r["restarts"],
                    r["mode"],
                    r["ready"],
                    r["ticks"],
                    r["bad"],
                    r["patterns"],
                    r["reconnects"],
                    r["queue_depth"],
                )
            )
        ok, out = _answer(consumer.get("publisher"))
        state = out.split("=", 1)[1] if ok and "=" in out else "?"
        lines.append(_row("%-19s %s", f"{host} publisher", state))
    return lines


def _pairs(value: Any) -> dict[str, str]:
    try:
        return parse_pairs(value)
    except (TypeError, ValueError):
        return {}


def _clock(timestamp: Any) -> str:
    try:
        return datetime.fromtimestamp(float(timestamp), tz=UTC).strftime("%H:%M:%S")
    except (TypeError, ValueError, OverflowError):
        return "?"


def stream_table(streams: Mapping[str, Any], stream: str) -> list[str]:
    """Stream length, consumer groups, the last dead letters and sampled pattern events, per master.

    Each master's answer is the tickstock_redis result of XLEN, XINFO GROUPS, XLEN of the
    dead letters, XREVRANGE of the last three, SUBSCRIBE to the pattern channel (its
    `messages`), plus `sample_s`.
    """
    lines: list[str] = []
    masters = {host: s for host, s in streams.items() if isinstance(s, Mapping) and not s.get("skipped")}
    if not masters:
        return [f"STREAM {stream}: no master answered"]
    for host, s in masters.items():
        replies = list(s.get("replies") or []) + [None] * 5
        errors = [e for e in s.get("errors") or [] if e]
        if s.get("failed") or errors:
            lines.append(f"STREAM {stream} on {host}: {(errors or [s.get('msg', 'failed')])[0]}")
        xlen, dead_len = (v if v is not None else "?" for v in (replies[0], replies[2]))
        lines.append(f"STREAM {stream} on {host}: length {xlen}, dead letters {dead_len}")
        for group in replies[1] or []:
            g = _pairs(group)
            lines.append(
                f"GROUP {g.get('name', '?')}: consumers {g.get('consumers', '?')}, pending "
                f"{g.get('pending', '?')}, lag {g.get('lag', '?')}, last-delivered "
                f"{g.get('last-delivered-id', '?')}"
            )
        for entry in replies[3] or []:
            if not isinstance(entry, Sequence) or len(entry) != 2:
                continue
            f = _pairs(entry[1])
            lines.append(
                f"DEAD {entry[0]} {f.get('reason', '?')} {f.get('consumer', '?')}: {f.get('payload', '')[:60]}"
            )
        events = []
        for message in s.get("messages") or []:
            if isinstance(message, list) and len(message) == 3 and message[0] == "message":
                try:
                    events.append(json.loads(message[2]))
                except ValueError:
                    continue
        lines.append(f"PATTERN EVENTS in a {s.get('sample_s', '?')} s sample: {len(events)}")
        for e in events[-5:]:
            if isinstance(e, Mapping):
                lines.append(
                    _row(
                        "  %-6s %-15s %-5s confidence %s at %s",
                        e.get("ticker", "?"),
                        e.get("pattern_type", "?"),
                        e.get("direction", "?"),
                        e.get("confidence", "?"),
                        _clock(e.get("timestamp")),
                    )
                )
    return lines


ALERT_FMT = "  %-8s %-34s %-9s %-32s since %s"


def alert_table(answers: Mapping[str, Any]) -> list[str]:
    """Firing and pending alerts from each monitoring host's GET /api/v1/alerts (a uri result)."""
    lines: list[str] = []
    for host, result in sorted(answers.items()):
        reply = result.get("json") if isinstance(result, Mapping) else None
        alerts = reply.get("data", {}).get("alerts") if isinstance(reply, Mapping) else None
        if not isinstance(alerts, list):
            why = result.get("msg", "no answer") if isinstance(result, Mapping) else "not asked"
            lines.append(f"ALERTS on {host}: Prometheus did not answer ({why})")
            continue
        firing = [a for a in alerts if isinstance(a, Mapping) and a.get("state") == "firing"]
        lines.append(f"ALERTS on {host}: {len(firing)} firing, {len(alerts) - len(firing)} pending")
        order = sorted(alerts, key=lambda a: (a.get("state") != "firing", str(a.get("labels", {}).get("alertname"))))
        for a in order:
            labels = a.get("labels", {}) if isinstance(a.get("labels"), Mapping) else {}
            lines.append(_row(ALERT_FMT, a.get("state", "?"), labels.get("alertname", "?"),
                              labels.get("severity", "-"), labels.get("instance", labels.get("cluster", "-")),
                              str(a.get("activeAt", "?"))[:19]))
    return lines


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tickstock_metrics": parse_metrics,
            "tickstock_sentinel_table": sentinel_table,
            "tickstock_replication_table": replication_table,
            "tickstock_consumer_table": consumer_table,
            "tickstock_stream_table": stream_table,
            "tickstock_alert_table": alert_table,
        }
