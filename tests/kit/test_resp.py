"""The module's RESP client against a real redis-server."""

import shutil
import socket
import subprocess
import time

import pytest
from tickstock_resp import Connection, RedisReplyError, as_text, encode

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


@pytest.fixture
def server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path),
         "--requirepass", "pw-with space\r\nx"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.kill()
    proc.wait()


def test_encode_is_resp_bulk_strings():
    assert encode(["SET", "k", b"\x00\xff"]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\x00\xff\r\n"


def test_replies_errors_and_binary_safe_args(server):
    conn = Connection("127.0.0.1", server)
    with pytest.raises(RedisReplyError, match="NOAUTH"):
        conn.call("PING")
    assert conn.call("AUTH", "pw-with space\r\nx") == "OK"
    assert conn.call("SET", "k", "v\r\nwith crlf") == "OK"
    assert conn.call("GET", "k") == "v\r\nwith crlf"
    assert conn.call("GET", "missing") is None
    assert conn.call("RPUSH", "l", "a", "b") == 2
    assert conn.call("LRANGE", "l", 0, -1) == ["a", "b"]
    assert as_text(conn.call("CONFIG", "GET", "appendonly")) == "appendonly\nno"
    conn.close()


def test_listen_collects_what_is_published_within_the_window(server):
    sub, pub = Connection("127.0.0.1", server), Connection("127.0.0.1", server)
    for conn in (sub, pub):
        conn.call("AUTH", "pw-with space\r\nx")
    assert sub.call("SUBSCRIBE", "events") == ["subscribe", "events", 1]
    assert pub.call("PUBLISH", "events", "one") == 1
    assert pub.call("PUBLISH", "events", "two") == 1
    started = time.monotonic()
    assert sub.listen(0.5) == [["message", "events", "one"], ["message", "events", "two"]]
    assert 0.4 < time.monotonic() - started < 2
    assert sub.listen(0.2) == []
    sub.close()
    pub.close()


def _module(port: int, **args: object) -> dict:
    """Run the tickstock_redis module as Ansible does (ad hoc, on localhost), its result as a dict."""
    import json
    import os
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    args = {"port": port, "password": "pw-with space\r\nx", **args}
    out = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", "tickstock_redis",
         "-e", f"ansible_python_interpreter={sys.executable}",
         "-a", json.dumps(args)],
        check=False, cwd=root, capture_output=True, text=True, timeout=60,
        env={**os.environ, "ANSIBLE_CONFIG": str(root / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
             "ANSIBLE_STDOUT_CALLBACK": "json"},
    )
    assert "pw-with space" not in out.stdout + out.stderr
    doc, _ = json.JSONDecoder().raw_decode(out.stdout[out.stdout.index("{"):])
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_module_waits_until_the_reply_changes(server):
    conn = Connection("127.0.0.1", server)
    conn.call("AUTH", "pw-with space\r\nx")
    conn.call("SET", "master", "10.0.0.1")

    def switch() -> None:
        time.sleep(1.0)
        conn.call("SET", "master", "10.0.0.2")

    import threading

    t = threading.Thread(target=switch)
    started = time.time()
    t.start()
    r = _module(server, commands=[["GET", "master"]], wait_s=20, poll_s=0.1, changed_from="10.0.0.1")
    t.join()
    assert r["met"] is True and r["replies"] == ["10.0.0.2"]
    assert started + 1.0 <= r["at"] < started + 15


def test_module_waits_for_an_error_and_says_when_it_gave_up(server):
    r = _module(server, commands=[["SET", "probe", "x"]], wait_s=0.5, poll_s=0.1, error_contains="NOREPLICAS")
    assert r["met"] is False and r["texts"] == ["OK"] and r["errors"] == [None]
    r = _module(server, commands=[["INCR", "probe"]], wait_s=5, error_contains="not an integer")
    assert r["met"] is True and "not an integer" in r["errors"][0]
