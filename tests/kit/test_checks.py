"""The variable checks and the redis.conf quoting, on their own and against a real redis-server."""

import shutil
import socket
import subprocess
import time

import pytest
from tickstock_checks import (
    PASSWORD_MIN_LENGTH,
    tickstock_disagreements,
    tickstock_invalid,
    tickstock_redis_quote,
)

GOOD = "a-good-password-1234"


@pytest.mark.parametrize(
    ("rule", "value", "args", "ok"),
    [
        ("port", 6380, [], True),
        ("apt_uri", "http://deb.debian.org/debian", [], True),
        ("apt_uri", "https://mirror.example/debian/", [], True),
        ("apt_uri", "http://m/debian\nSuites: sid", [], False),
        ("apt_uri", "ftp://m/debian", [], False),
        ("apt_uri", "http://m/debian\n", [], False),
        ("apt_uri", "", [], False),
        ("port", "70000", [], False),
        ("port", 0, [], False),
        ("port", True, [], False),
        ("int_range", -1, [0], False),
        ("int_range", 5, [0, 4], False),
        ("int_range", "12", [0, 15], True),
        ("positive", "0", [], False),
        ("positive", 0.5, [], True),
        ("password", "", [], False),
        ("password", "x" * (PASSWORD_MIN_LENGTH - 1), [], False),
        ("password", GOOD + "\n", [], False),
        ("password", 'p"w\\x41 long enough here', [], True),
        ("systemd_size", "lots", [], False),
        ("systemd_size", "512M", [], True),
        ("systemd_size", "infinity", [], True),
        ("host_ports", ["10.0.0.1"], [], False),
        ("host_ports", ["10.0.0.1:26379", "[::1]:1"], [], True),
        ("host_ports", ["a b:1"], [], False),
        ("networks", ["10.0.0.5", "10.1.0.0/16", "fd00::/8"], [], True),
        ("networks", ["monitoring.example"], [], False),
        ("networks", "10.0.0.5", [], False),
        ("hosts", ["10.0.0.1", "db-1.example"], [], True),
        ("hosts", ["0.0.0.0 1"], [], False),
        ("env_names", {"LD_PRELOAD": "x"}, [[]], False),
        ("env_names", {"TICKSTOCKPL_A\nB": "x"}, [[]], False),
        ("env_names", {"TICKSTOCKPL_BATCH_SIZE": "1\n2"}, [[]], False),
        ("env_names", {"REDIS_PASSWORD": "x"}, [["REDIS_PASSWORD"]], False),
        ("env_names", {"TICKSTOCKPL_BATCH_SIZE": 100}, [["REDIS_PASSWORD"]], True),
        ("loopback_or_allowed", "0.0.0.0", [False], False),
        ("loopback_or_allowed", "0.0.0.0", [True], True),
        ("loopback_or_allowed", "127.0.0.1", [False], True),
        ("loopback_or_allowed", "::1", [False], True),
        ("quorum", 0, [3], False),
        ("quorum", 5, [3], False),
        ("quorum", 1, [3], False),
        ("quorum", 2, [3], True),
        ("above", 45, [30, "x"], True),
        ("above", 30, [30, "x"], False),
        ("tickers", ["aapl"], [], False),
        ("tickers", ["AAPL", "BRK.B"], [], True),
        ("tickers", [], [], False),
    ],
)
def test_rules(rule, value, args, ok):
    problems = tickstock_invalid([["some_var", value, rule, *args]])
    assert (problems == []) is ok, problems
    for p in problems:
        assert p.startswith("some_var: ")


def test_secrets_must_not_share_a_password():
    good = {"redis_admin": GOOD, "redis_replication": GOOD + "-2"}
    assert tickstock_invalid([["tickstock_secrets", good, "secrets", list(good)]]) == []
    rotating = {**good, "redis_replication": [GOOD + "-3", GOOD]}  # the admin's, as its old one
    (msg,) = tickstock_invalid([["tickstock_secrets", rotating, "secrets", list(good)]])
    assert msg.startswith("tickstock_secrets: redis_admin and redis_replication share a password")
    assert GOOD not in msg


def test_password_never_shown():
    (msg,) = tickstock_invalid([["redis_server_password", "short-secret", "password"]])
    assert "short-secret" not in msg
    assert msg.startswith("redis_server_password: ")


def test_disagreements_name_the_variable_and_hosts():
    hostvars = {"r1": {"tickstock_master_name": "a"}, "c1": {"tickstock_master_name": "b"}}
    (msg,) = tickstock_disagreements(["r1", "c1"], hostvars, ["tickstock_master_name"])
    assert msg.startswith("tickstock_master_name differs") and "r1" in msg and "c1" in msg
    assert tickstock_disagreements(["r1"], hostvars, ["tickstock_master_name"]) == []


TRICKY = [
    'p"w-and-then-some-more',
    "ab\\x41cd-0123456789abc",
    'pw"\nenable-debug-command yes\n#',
    "back\\slash\\\\double\"quote'single",
    "tab\there and spaces  ",
]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
@pytest.mark.parametrize("password", TRICKY)
def test_quoted_password_survives_redis_conf(tmp_path, password):
    """redis-server reads the quoted password back unchanged, and nothing else from it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "redis.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {tmp_path}\n"
        f"requirepass {tickstock_redis_quote(password)}\n"
    )
    proc = subprocess.Popen(["redis-server", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)

        def cli(*args, auth):
            return subprocess.run(
                ["redis-cli", "-p", str(port), *args],
                env={"REDISCLI_AUTH": auth, "PATH": "/usr/bin:/bin"},
                check=False, capture_output=True, text=True, timeout=10,
            ).stdout.strip()

        assert cli("PING", auth=password) == "PONG"
        assert "NOAUTH" in cli("PING", auth="") or "AUTH" in cli("PING", auth="").upper()
        # Nothing after the password became a directive.
        assert cli("CONFIG", "GET", "enable-debug-command", auth=password).splitlines()[-1] == "no"
    finally:
        proc.kill()
        proc.wait()
