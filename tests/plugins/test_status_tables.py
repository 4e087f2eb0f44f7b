from __future__ import annotations

import json

import pytest
from filter_samples import INFO_MASTER, INFO_REPLICA, SENTINEL_MASTER_RAW, module_result, result
from status_tables import (
    alert_table,
    consumer_rows,
    consumer_table,
    metric,
    parse_metrics,
    replication_table,
    sentinel_table,
    stream_table,
)

METRICS = """\
# HELP tickstockpl_ticks_processed_total Valid ticks processed
# TYPE tickstockpl_ticks_processed_total counter
tickstockpl_ticks_processed_total 12345.0
tickstockpl_ticks_processed_created 1.7e+09
tickstockpl_bad_ticks_total{reason="schema"} 2.0
tickstockpl_bad_ticks_total{reason="price, bad"} 1.0
tickstockpl_pattern_events_total{pattern_type="Doji"} 4.0
tickstockpl_pattern_events_total{pattern_type="Hammer"} 5.0
tickstockpl_batch_processing_seconds_bucket{le="0.001"} 3.0
tickstockpl_reconnects 2.0
tickstockpl_queue_depth 7.0
tickstockpl_connected 1.0 1700000000000
"""


def test_metrics_sum_over_labels() -> None:
    m = parse_metrics(METRICS)
    assert m["tickstockpl_ticks_processed_total"] == 12345.0
    assert m["tickstockpl_bad_ticks_total"] == 3.0
    assert m["tickstockpl_pattern_events_total"] == 9.0
    assert m["tickstockpl_connected"] == 1.0  # a timestamp after the value is not the value
    assert "# HELP tickstockpl_ticks_processed_total Valid ticks processed" not in m


def test_metrics_of_nothing() -> None:
    assert parse_metrics("") == {} and parse_metrics(None) == {}
    assert parse_metrics("garbage line here\nname notanumber") == {}


@pytest.mark.parametrize("exposed", ["tickstockpl_reconnects", "tickstockpl_reconnects_total"])
@pytest.mark.parametrize("asked", ["tickstockpl_reconnects", "tickstockpl_reconnects_total"])
def test_metric_with_or_without_total(exposed: str, asked: str) -> None:
    assert metric(parse_metrics(f"{exposed} 7\n"), asked) == 7.0


def test_metric_absent() -> None:
    assert metric({}, "tickstockpl_failovers_seen_total") is None


def test_sentinel_table() -> None:
    lines = sentinel_table(
        {
            "redis1": module_result(SENTINEL_MASTER_RAW.splitlines()),
            "redis2": module_result(None, errors=["connect: Could not connect to Redis at 127.0.0.1"]),
            "redis3": None,
            "redis4": module_result(None, errors=["ERR No such master with that name"]),
        }
    )
    assert lines[0].split() == ["SENTINEL", "MASTER", "FLAGS", "REPL", "SENT", "QUOR", "EPOCH", "DOWN-MS"]
    assert lines[1].split() == ["redis1", "172.18.0.2:6379", "master", "2", "3", "2", "3", "2000"]
    assert lines[2].startswith("redis2") and "ERROR connect: Could not connect" in lines[2]
    assert lines[3].split() == ["redis3", "UNREACHABLE"]
    assert "ERR No such master" in lines[4]


def test_replication_table() -> None:
    lines = replication_table(
        {
            "redis1": module_result(INFO_MASTER),
            "redis2": module_result(INFO_REPLICA),
            "redis3": None,
        }
    )
    assert lines[1].split() == ["redis1", "master", "-", "10771", "2", "replica(s)", "connected"]
    assert lines[2].split() == ["172.18.0.3:6379", "online", "offset", "10771", "lag", "1"]
    assert lines[4].split() == ["redis2", "replica", "up", "10771", "of", "172.18.0.2:6379"]
    assert lines[5].split() == ["redis3", "UNREACHABLE"]


def _consumer(metrics: list[str], ready: list[int]) -> dict[str, object]:
    return {
        "instances": [{"id": 1, "mode": "stream", "port": 9108}, 2],
        "units": {
            "results": [
                result("ActiveState=active\nMainPID=101\nNRestarts=0"),
                result("ActiveState=failed\nMainPID=0\nNRestarts=3"),
            ]
        },
        "metrics": {"results": [{"status": 200, "content": body} for body in metrics]},
        "ready": {"results": [{"status": code} for code in ready]},
        "publisher": result("ActiveState=active"),
    }


def test_consumer_rows() -> None:
    rows = consumer_rows(_consumer([METRICS, ""], [200, -1]))
    assert rows[0] == {
        "instance": 1,
        "mode": "stream",
        "state": "active",
        "pid": "101",
        "restarts": "0",
        "ready": True,
        "ticks": 12345,
        "bad": 3,
        "patterns": 9,
        "reconnects": 2,
        "queue_depth": 7,
    }
    assert rows[1]["state"] == "failed" and rows[1]["ready"] is False and rows[1]["ticks"] == "?"


def test_consumer_rows_count_a_counter_without_samples_as_zero() -> None:
    rows = consumer_rows(_consumer(["tickstockpl_ticks_processed_total 5.0\n", ""], [200, 200]))
    assert (rows[0]["ticks"], rows[0]["bad"], rows[0]["patterns"]) == (5, 0, 0)


def test_consumer_table() -> None:
    lines = consumer_table({"consumer1": _consumer([METRICS, METRICS], [200, 200]), "consumer2": None})
    assert lines[0].split()[0] == "CONSUMER"
    assert lines[0].split() == ["CONSUMER", "STATE", "PID", "RST", "MODE", "READY", "TICKS", "BAD", "PATS", "RECONN",
                                "QDEPTH"]
    assert lines[1].split() == ["consumer1@1", "active", "101", "0", "stream", "True", "12345", "3", "9", "2", "7"]
    assert lines[2].split()[:5] == ["consumer1@2", "failed", "0", "3", "?"]
    assert lines[3].split() == ["consumer1", "publisher", "active"]
    assert lines[4].split() == ["consumer2", "UNREACHABLE"]


def test_stream_table() -> None:
    event = {"ticker": "AAPL", "pattern_type": "Doji", "direction": "up", "confidence": 0.8, "timestamp": 3600}
    master = module_result(
        1500,
        [["name", "g", "consumers", 2, "pending", 0, "last-delivered-id", "1-0", "lag", 0]],
        1,
        [["5-0", ["reason", "schema", "consumer", "c1-1", "payload", "x" * 100]]],
        ["subscribe", "channel", 1],
        messages=[["message", "channel", json.dumps(event)], ["message", "channel", "not json"]],
    )
    streams = {"redis1": {**master, "sample_s": 3}, "redis2": None, "redis3": {"skipped": True}}
    lines = stream_table(streams, "the-stream")
    assert lines[0] == "STREAM the-stream on redis1: length 1500, dead letters 1"
    assert lines[1] == "GROUP g: consumers 2, pending 0, lag 0, last-delivered 1-0"
    assert lines[2] == "DEAD 5-0 schema c1-1: " + "x" * 60
    assert lines[3] == "PATTERN EVENTS in a 3 s sample: 1"
    assert lines[4].split() == ["AAPL", "Doji", "up", "confidence", "0.8", "at", "01:00:00"]


def test_stream_table_without_a_master() -> None:
    assert stream_table({"redis1": None}, "s") == ["STREAM s: no master answered"]
    failed = module_result(None, None, None, None, None, errors=["auth: WRONGPASS"] * 5)
    assert stream_table({"redis1": failed}, "s")[0] == "STREAM s on redis1: auth: WRONGPASS"


def test_consumer_table_without_instances() -> None:
    lines = consumer_table({"consumer1": {"instances": [], "publisher": result("ActiveState=inactive")}})
    assert "NO INSTANCES" in lines[1]
    assert lines[2].split() == ["consumer1", "publisher", "inactive"]


def test_alert_table_lists_firing_first_and_says_when_prometheus_is_silent() -> None:
    reply = {"json": {"status": "success", "data": {"alerts": [
        {"state": "pending", "labels": {"alertname": "TickstockConsumerLag", "severity": "warning"},
         "activeAt": "2026-11-26T08:00:00.123Z"},
        {"state": "firing", "labels": {"alertname": "TickstockMasterChanged", "severity": "info",
                                        "instance": "redis2"}, "activeAt": "2026-11-26T07:59:00Z"},
    ]}}}
    lines = alert_table({"mon1": reply, "mon2": {"msg": "Status code was -1: connection refused"}})
    assert lines[0] == "ALERTS on mon1: 1 firing, 1 pending"
    assert "firing" in lines[1] and "TickstockMasterChanged" in lines[1] and "2026-11-26T07:59:00" in lines[1]
    assert "pending" in lines[2] and "TickstockConsumerLag" in lines[2]
    assert lines[3] == "ALERTS on mon2: Prometheus did not answer (Status code was -1: connection refused)"
    assert alert_table({"mon1": {"json": {"status": "success", "data": {"alerts": []}}}}) == [
        "ALERTS on mon1: 0 firing, 0 pending"]
