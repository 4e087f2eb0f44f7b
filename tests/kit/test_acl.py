"""ACL helpers: hashes, the current password, SETUSER commands, rotation phases."""

import hashlib
import socket
import subprocess
import time

import pytest
import redis
from acl import (
    acl_deluser,
    acl_extra,
    acl_hashes,
    acl_missing,
    acl_setuser,
    acl_users,
    current,
    fingerprint,
    password_files,
    rotation,
)
from redis.backoff import NoBackoff
from redis.retry import Retry


def sha(p):
    return "#" + hashlib.sha256(p.encode()).hexdigest()


def test_hashes_and_current_for_one_or_two_passwords():
    assert acl_hashes("a" * 16) == sha("a" * 16)
    assert acl_hashes(["old" * 6, "new" * 6]) == f"{sha('old' * 6)} {sha('new' * 6)}"
    assert current(["new" * 6, "old" * 6]) == "new" * 6
    with pytest.raises(ValueError):
        current(["a", "b", "c"])


def test_setuser_turns_default_off_and_never_carries_a_clear_password():
    cmds = acl_setuser({"client": "-@all +ping"}, {"sentinel_client": "pw" * 8}, "sentinel_")
    assert cmds[0] == ["ACL", "SETUSER", "default", "reset", "off"]
    assert cmds[1] == ["ACL", "SETUSER", "client", "reset", "on", sha("pw" * 8), "-@all", "+ping"]
    assert "pw" * 8 not in str(cmds)


def test_rotation_phases():
    secrets = {"redis_consumer": "old-password-0001", "redis_admin": "admin-password-01"}
    new = {"redis_consumer": "new-password-0001"}
    assert rotation(secrets, new, "accept")["redis_consumer"] == ["old-password-0001", "new-password-0001"]
    assert rotation(secrets, new, "switch")["redis_consumer"] == ["new-password-0001", "old-password-0001"]
    assert rotation(secrets, new, "finish") == {**secrets, **new}
    # Re-running a phase after a half-finished rotation stays on the same old password.
    mid = rotation(secrets, new, "accept")
    assert rotation(mid, new, "switch")["redis_consumer"] == ["new-password-0001", "old-password-0001"]
    with pytest.raises(ValueError):
        rotation(secrets, {"redis_nobody": "x" * 16}, "accept")


def test_fingerprint_is_stable():
    assert fingerprint({"b": 1, "a": [1, 2]}) == fingerprint({"a": [1, 2], "b": 1})


def test_user_names_of_acl_list():
    reply = ["user admin on #ab ~* &* +@all", "user default off", "user x on nopass"]
    assert acl_users(reply) == ["admin", "default", "x"]
    assert acl_deluser("x") == ["ACL", "DELUSER", "x"]


def test_extra_and_missing_users_ignore_order():
    # Declared order is not the server's order: only the sets count.
    reply = ["user monitor on", "user default off", "user admin on", "user stray on"]
    users = {"replication": "", "admin": "", "monitor": ""}
    assert acl_extra(reply, users) == ["stray"]
    assert acl_missing(reply, users) == ["replication"]
    assert acl_extra(reply[:3], {"monitor": "", "admin": ""}) == []
    assert acl_missing(reply[:3], {"monitor": "", "admin": ""}) == []

NO_RETRY = Retry(NoBackoff(), 0)


def _serve(tmp_path, port: int, acl: list[list[str]]) -> subprocess.Popen:
    (tmp_path / "users.acl").write_text("".join("user " + " ".join(cmd[2:]) + "\n" for cmd in acl))
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", "",
         "--appendonly", "yes", "--appendfsync", "always", "--aclfile", str(tmp_path / "users.acl"),
         "--logfile", str(tmp_path / "log")],
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError((tmp_path / "log").read_text())


@pytest.mark.parametrize(("default_rules", "kept"), [("~* &* +@all", True), ("", False)])
def test_transactions_survive_an_aof_reload(tmp_path, default_rules: str, kept: bool) -> None:
    """The role's default-user rules keep MULTI/EXEC writes across a restart; without them they are lost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    acl = acl_setuser({"admin": "~* &* +@all"}, {"redis_admin": "a" * 16}, "redis_", default_rules)
    client = redis.Redis(port=port, username="admin", password="a" * 16)
    proc = _serve(tmp_path, port, acl)
    try:
        with client.pipeline(transaction=True) as pipe:
            pipe.set("k", "v").xadd("s", {"f": "v"})
            pipe.execute()
    finally:
        proc.terminate()  # SIGTERM: a clean shutdown, AOF fsynced
        proc.wait(timeout=10)
    proc = _serve(tmp_path, port, acl)
    try:
        assert (client.get("k") == b"v", client.xlen("s")) == ((True, 1) if kept else (False, 0))
        # "default" holds permissions but nobody can use them.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, retry=NO_RETRY).get("k")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, username="default", password="", retry=NO_RETRY).ping()
    finally:
        proc.kill()
        proc.wait()


def test_password_files_one_group_per_login_current_passwords_during_a_rotation():
    secrets = {"redis_consumer": ["new" * 6, "old" * 6], "redis_pub": "p" * 16, "redis_drill": "d" * 16,
               "sentinel_client": ["s2" * 8, "s1" * 8]}
    files = password_files({"consumer": "consumer", "publisher": "pub", "drill": "drill"}, secrets, "client",
                           {"consumer": "tickstockpl", "publisher": "tickstockpl-publisher"})
    assert [(f["name"], f["login"], f["group"], f["password"]) for f in files] == [
        ("consumer.password", "consumer", "tickstockpl", "new" * 6),
        ("consumer-sentinel.password", "consumer", "tickstockpl", "s2" * 8),
        ("publisher.password", "publisher", "tickstockpl-publisher", "p" * 16),
        ("publisher-sentinel.password", "publisher", "tickstockpl-publisher", "s2" * 8),
        ("drill.password", "drill", "root", "d" * 16),
        ("drill-sentinel.password", "drill", "root", "s2" * 8),
    ]
