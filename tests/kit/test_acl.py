"""ACL helpers: hashes, the current password, SETUSER commands, rotation phases."""

import hashlib

import pytest
from acl import acl_deluser, acl_extra, acl_hashes, acl_missing, acl_setuser, acl_users, current, fingerprint, rotation


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
