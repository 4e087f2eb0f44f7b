"""The CLI as a subprocess: SIGTERM drain, sd_notify, HTTP endpoints, health, audit."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from servers import TICKSTOCKPL, Proc, free_port, subprocess_env, wait_until
from tickstockpl.contract import CONTRACT
from tickstockpl.seen import segment_key

STREAM, GROUP = CONTRACT.stream, CONTRACT.group


def run_cli(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TICKSTOCKPL, *args], env=subprocess_env(env), capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def http_get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_sigterm_drains_acks_and_exits_zero(
    redis_env: dict[str, str], redis_server: Proc, tmp_path: Path
) -> None:
    r = redis_server.client()
    pub = run_cli(["publish", "--rate", "200000", "--count", "60000", "--publisher-id", "p1",
                   "--summary-json", str(tmp_path / "s.json")], redis_env)
    assert pub.returncode == 0, pub.stderr
    # The drills' timeline: every confirmed tick counted in the second it was confirmed.
    per_s = json.loads((tmp_path / "s.json").read_text())["confirmed_per_s"]
    assert sum(per_s.values()) == 60000 and all(int(k) > 1.7e9 for k in per_s)
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(20)
    port = free_port()
    env = {
        **redis_env, "TICKSTOCKPL_CONSUMER_ID": "drainer", "TICKSTOCKPL_HTTP_PORT": str(port),
        "TICKSTOCKPL_BATCH_SIZE": "200", "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "200000",
    }
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        messages = []
        while not any(m.startswith("READY=1") for m in messages):
            messages.append(notify.recv(4096).decode())
        # Mid-stream: it is busy with the backlog when the signal lands.
        wait_until(lambda: r.xpending(STREAM, GROUP)["pending"] > 0 or r.xinfo_groups(STREAM)[0]["lag"] == 0,
                   10, "consumer busy")
        assert http_get(port, "/healthz")[0] == 200
        status, body = http_get(port, "/readyz")
        assert status == 200 and json.loads(body)["group_ready"] is True
        status, metrics = http_get(port, "/metrics")
        for name in (b"tickstockpl_ticks_processed_total", b"tickstockpl_end_to_end_seconds_bucket",
                     b"tickstockpl_reconnects_total", b"tickstockpl_failovers_seen_total",
                     b"process_resident_memory_bytes", b"process_open_fds", b"tickstockpl_stream_lag",
                     b"tickstockpl_pending"):
            assert name in metrics
        assert http_get(port, "/nope")[0] == 404
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()
    assert proc.returncode == 0, err[-2000:]
    log_lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith(b"{"[0:1].decode())]
    stopped = [entry for entry in log_lines if entry["msg"] == "stream consumer stopped"]
    assert stopped and stopped[0]["signal"] == "SIGTERM"
    # Everything it was handed was acked before exit: nothing left pending for it.
    consumers = {c["name"]: c["pending"] for c in r.xinfo_consumers(STREAM, GROUP)}
    assert consumers.get(b"drainer", 0) == 0
    assert stopped[0]["processed"] > 0


def test_watchdog_pings_follow_watchdog_usec(redis_env: dict[str, str], tmp_path: Path) -> None:
    notify_path = tmp_path / "n.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(10)
    env = {**redis_env, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "400000",
           "TICKSTOCKPL_BLOCK_MS": "100"}
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(env), stderr=subprocess.DEVNULL)
    try:
        got: list[str] = []
        deadline = time.monotonic() + 10
        while got.count("WATCHDOG=1") < 3 and time.monotonic() < deadline:
            got.append(notify.recv(4096).decode())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        notify.close()
    assert any(m.startswith("READY=1") for m in got) and got.count("WATCHDOG=1") >= 3
    assert proc.returncode == 0


def test_health_reports_master_replica_and_down(redis_env: dict[str, str], tmp_path: Path) -> None:
    ok = run_cli(["health"], redis_env)
    report = json.loads(ok.stdout)
    assert ok.returncode == 0 and report["redis"] == "healthy" and report["role"] == "master"
    assert report["latency_ms"] >= 0 and report["master"].endswith(redis_env["REDIS_PORT"])

    from servers import start_redis

    replica = start_redis(tmp_path, "replica", "--replicaof", "127.0.0.1", redis_env["REDIS_PORT"])
    try:
        bad = run_cli(["health"], {**redis_env, "REDIS_PORT": str(replica.port)})
        assert bad.returncode == 1 and json.loads(bad.stdout)["role"] == "slave"
    finally:
        replica.kill()
    down = run_cli(["health"], {**redis_env, "REDIS_PORT": str(free_port())})
    report = json.loads(down.stdout)
    assert down.returncode == 1 and report["redis"] == "unhealthy" and "error" in report


def test_audit_detects_loss_and_duplicate_patterns(
    redis_env: dict[str, str], redis_server: Proc, tmp_path: Path
) -> None:
    r = redis_server.client()
    summary = tmp_path / "s.json"
    assert run_cli(["publish", "--count", "500", "--rate", "100000", "--publisher-id", "a1",
                    "--summary-json", str(summary)], redis_env).returncode == 0
    data = json.loads(summary.read_text())
    assert (data["sent"], data["confirmed"], data["first_seq"], data["last_seq"]) == (500, 500, 0, 499)
    # Nobody consumed yet: all 500 confirmed ticks are lost (but in the stream).
    early = run_cli(["audit", "--summary-json", str(summary)], redis_env)
    verdict = json.loads(early.stdout)
    assert early.returncode == 1 and verdict["lost"] == 500 and verdict["in_stream"] == 500

    consumer = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(redis_env),
                                stderr=subprocess.DEVNULL)
    try:
        done = run_cli(["audit", "--summary-json", str(summary), "--wait", "20"], redis_env)
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(10)
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["consumed"] == 500

    r.setbit(segment_key(CONTRACT.seen_prefix, "a1", 123), 123, 0)  # one tick "not processed"
    patterns = tmp_path / "p.jsonl"
    patterns.write_text('{"pattern_id": "x"}\n{"pattern_id": "y"}\n{"pattern_id": "x"}\n')
    bad = run_cli(["audit", "--summary-json", str(summary), "--patterns-log", str(patterns)], redis_env)
    verdict = json.loads(bad.stdout)
    assert bad.returncode == 1
    assert (verdict["lost"], verdict["lost_seqs"], verdict["duplicated_patterns"]) == (1, [123], 1)


@pytest.mark.parametrize(
    "args",
    [["consume"], ["publish", "--count", "1"], ["health"], ["audit", "--summary-json", "/nonexistent"],
     ["watch-patterns", "--out", "/nonexistent/p.jsonl"]],
)
def test_bad_setting_exits_2_on_every_command(args: list[str]) -> None:
    proc = run_cli(args, {"REDIS_PORT": "not-a-port"}, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "configuration error: REDIS_PORT" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_publish_option_exits_2(redis_env: dict[str, str]) -> None:
    proc = run_cli(["publish", "--tickers", "aapl", "--count", "1"], redis_env)
    assert proc.returncode == 2 and "--tickers" in proc.stderr


def _start_consumer(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], socket.socket]:
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(20)
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env({**env, "NOTIFY_SOCKET": str(notify_path)}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while not notify.recv(4096).decode().startswith("READY=1"):
        pass
    time.sleep(0.3)  # into its blocking read
    return proc, notify


def test_sigint_is_a_warm_shutdown(redis_env: dict[str, str], tmp_path: Path) -> None:
    proc, notify = _start_consumer({**redis_env, "TICKSTOCKPL_CONSUMER_ID": "int"}, tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    finally:
        notify.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    stopped = [json.loads(line) for line in err.decode().splitlines() if "consumer stopped" in line]
    assert stopped and stopped[0]["signal"] == "SIGINT"
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


def test_second_signal_exits_at_once_with_128_plus_signal(redis_env: dict[str, str], tmp_path: Path) -> None:
    # A long blocking read: the warm shutdown would take up to 4 s.
    env = {**redis_env, "TICKSTOCKPL_BLOCK_MS": "4000", "REDIS_SOCKET_TIMEOUT": "6"}
    proc, notify = _start_consumer(env, tmp_path)
    try:
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        took = time.monotonic() - started
    finally:
        notify.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGINT
    assert took < 1.5
