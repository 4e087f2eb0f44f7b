"""The failover drill, in small: SIGKILL the master under 1000 ticks/s.

Real master, 2 replicas, 3 sentinels; the CLI as subprocesses: 2 stream
consumers, 1 pub/sub consumer, the pattern watcher and the publisher. Then
`tickstockpl audit` must find every confirmed seq consumed and no pattern
event twice, and the publisher's longest gap must stay under
down-after + GAP_ALLOWANCE_S.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from conftest import Cluster
from servers import DOWN_AFTER_MS, TICKSTOCKPL, subprocess_env, wait_until
from tickstockpl.audit import consumed_of
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.seen import marked
from tickstockpl.settings import Settings

# Sentinel needs down-after plus ODOWN agreement (asked once a second), the
# election and its once-a-second INFO poll of the promoted replica: 1.3-2.4 s
# measured on 2 cores. The 1.5 s target is reported, not asserted; this bound
# still fails a client stuck on the dead master or a full resync in the path.
GAP_ALLOWANCE_S = 2.5


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen([*TICKSTOCKPL, *args], env=subprocess_env(env), stdout=out, stderr=out)


def test_health_via_sentinel_then_failover_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    env = cluster.env()
    health = subprocess.run(
        [*TICKSTOCKPL, "health"], env=subprocess_env(env), capture_output=True, timeout=30, check=False
    )
    report = json.loads(health.stdout)
    assert health.returncode == 0, report
    assert report["role"] == "master" and report["master"] == f"127.0.0.1:{cluster.master.port}"

    consumers = [
        spawn(["consume"], {**env, "TICKSTOCKPL_CONSUMER_ID": f"c{i}", "TICKSTOCKPL_PRICE_MOVE_PCT": "0.5"},
              tmp_path / f"consumer{i}.log")
        for i in (1, 2)
    ]
    pubsub = spawn(["consume"], {**env, "TICKSTOCKPL_MODE": "pubsub", "TICKSTOCKPL_CONSUMER_ID": "ps"},
                   tmp_path / "pubsub.log")
    patterns_log = tmp_path / "patterns.jsonl"
    watcher = spawn(["watch-patterns", "--out", str(patterns_log)], env, tmp_path / "watch.log")
    summary_path = tmp_path / "summary.json"
    time.sleep(1.0)  # consumers and watcher subscribe before the first tick
    publisher = spawn(
        ["publish", "--rate", "1000", "--duration", "8", "--publisher-id", "drill",
         "--summary-json", str(summary_path), "--seed", "7"],
        env, tmp_path / "publisher.log",
    )
    # A producer as TickStock's own: bare spec ticks, re-sent when a write fails.
    spec_summary = tmp_path / "spec-summary.json"
    spec_publisher = spawn(
        ["publish", "--spec-format", "--rate", "200", "--duration", "8", "--publisher-id", "spec",
         "--summary-json", str(spec_summary), "--seed", "8"],
        env, tmp_path / "spec-publisher.log",
    )
    try:
        # Both publishers have written through the first master (a loaded machine
        # can take seconds just to start them); only then is the kill a failover for them.
        wait_until(lambda: cluster.master.client().xlen(CONTRACT.stream) > 1500, 30, "ticks before the kill")
        old_master = cluster.master.port
        cluster.master.kill()
        wait_until(lambda: cluster.master_port() != old_master, 20, "sentinel failover", step=0.2)
        assert publisher.wait(40) == 0, (tmp_path / "publisher.log").read_text()[-3000:]
        assert spec_publisher.wait(40) == 0, (tmp_path / "spec-publisher.log").read_text()[-3000:]
        summary = json.loads(summary_path.read_text())

        audit = subprocess.run(
            [*TICKSTOCKPL, "audit", "--summary-json", str(summary_path),
             "--patterns-log", str(patterns_log), "--wait", "30"],
            env=subprocess_env(env), capture_output=True, timeout=90, check=False,
        )
        verdict = json.loads(audit.stdout)
        print("summary", {k: v for k, v in summary.items() if k != "unconfirmed_seqs"})
        print("verdict", verdict)
        assert summary["sent"] >= 7000 and summary["unconfirmed_seqs"] == []
        assert summary["failovers_seen"] >= 1
        assert verdict["confirmed"] == summary["sent"]
        assert verdict["lost"] == 0, verdict
        assert verdict["patterns_seen"] > 0, "no pattern events seen: the duplicate check proved nothing"
        assert verdict["duplicated_patterns"] == 0, verdict
        assert verdict["duplicated_tick_patterns"] == 0, verdict
        assert audit.returncode == 0
        spec_audit = subprocess.run(
            [*TICKSTOCKPL, "audit", "--summary-json", str(spec_summary), "--patterns-log", str(patterns_log)],
            env=subprocess_env(env), capture_output=True, timeout=90, check=False,
        )
        spec_verdict = json.loads(spec_audit.stdout)
        print("spec verdict", spec_verdict, "spec retried", json.loads(spec_summary.read_text())["retried"])
        assert spec_audit.returncode == 0 and spec_verdict["duplicated_tick_patterns"] == 0, spec_verdict
        print("gap_s", summary["longest_gap_s"], "down_after_s", DOWN_AFTER_MS / 1000)
        assert summary["longest_gap_s"] < DOWN_AFTER_MS / 1000 + GAP_ALLOWANCE_S, summary

        # The pub/sub consumer followed the master: it got ticks sent well after the failover.
        conn = Connector(Settings.from_env(env))
        late = list(range(summary["last_seq"] - 999, summary["last_seq"] + 1))
        seen_late = len(marked(conn.client, CONTRACT.pubsub_seen_prefix, "drill", late))
        assert seen_late >= 900, f"pub/sub consumer saw {seen_late}/1000 of the last ticks"
        assert len(consumed_of(conn, "drill", late)) == 1000
        conn.close()
    finally:
        for p in [publisher, spec_publisher, *consumers, pubsub, watcher]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = [p.wait(15) for p in [*consumers, pubsub, watcher]]
    assert codes == [0, 0, 0, 0], "consumers and watcher must drain and exit 0 on SIGTERM"
    logs = "".join((tmp_path / f"consumer{i}.log").read_text() for i in (1, 2))
    assert "failover seen" in logs
    # Its subscription died with the master: a gap, reported even though no seq jumped.
    assert "pub/sub connection lost and resubscribed" in (tmp_path / "pubsub.log").read_text()
