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
