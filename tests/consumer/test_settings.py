"""Settings from the environment: defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import subprocess

import pytest
from servers import TICKSTOCKPL, subprocess_env
from tickstockpl.contract import CONTRACT
from tickstockpl.settings import Settings, SettingsError


def test_defaults_follow_the_spec() -> None:
    s = Settings.from_env({})
    assert (s.redis_host, s.redis_port, s.redis_db) == ("localhost", CONTRACT.redis_port, 0)
    assert s.sentinel_master == CONTRACT.master_name and not s.uses_sentinel
    assert (s.stream, s.group, s.mode) == (CONTRACT.stream, CONTRACT.group, "stream")
    assert s.wait_replicas == 0 and s.consumer_id


def test_sentinel_list_and_options() -> None:
    s = Settings.from_env({
        "REDIS_SENTINELS": "10.0.0.1:26379, sentinel-b:26380,",
        "TICKSTOCKPL_TICKERS": "AAPL,BRK.B",
        "TICKSTOCKPL_MODE": "pubsub",
        "REDIS_TLS": "no",
        "TICKSTOCKPL_DETECTORS": "volume_spike",
    })
    assert s.sentinels == (("10.0.0.1", 26379), ("sentinel-b", 26380))
    assert s.uses_sentinel and s.wait_replicas == 1
    assert s.tickers == ("AAPL", "BRK.B") and s.mode == "pubsub" and s.detectors == ("volume_spike",)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"REDIS_PORT": "abc"}, "REDIS_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"REDIS_DB": "-1"}, "REDIS_DB"),
        ({"REDIS_SENTINELS": "hostonly"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINELS": "h:port"}, "REDIS_SENTINELS"),
        ({"REDIS_TLS": "maybe"}, "REDIS_TLS"),
        ({"REDIS_TLS_CA_FILE": "/nonexistent/ca.pem", "REDIS_TLS": "1"}, "REDIS_TLS_CA_FILE"),
        ({"REDIS_SOCKET_TIMEOUT": "nan"}, "REDIS_SOCKET_TIMEOUT"),
        ({"REDIS_SOCKET_TIMEOUT": "0.5"}, "REDIS_SOCKET_TIMEOUT"),  # below the 1 s block
        ({"REDIS_SENTINEL_TIMEOUT": "0"}, "REDIS_SENTINEL_TIMEOUT"),
        ({"TICKSTOCKPL_BATCH_SIZE": "0"}, "TICKSTOCKPL_BATCH_SIZE"),
        ({"TICKSTOCKPL_PROCESS_TIMEOUT": "-3"}, "TICKSTOCKPL_PROCESS_TIMEOUT"),
        ({"TICKSTOCKPL_MODE": "queue"}, "TICKSTOCKPL_MODE"),
        ({"TICKSTOCKPL_TICKERS": "aapl"}, "TICKSTOCKPL_TICKERS"),
        ({"TICKSTOCKPL_DETECTORS": "magic"}, "TICKSTOCKPL_DETECTORS"),
        ({"TICKSTOCKPL_CONSUMER_ID": "has space"}, "TICKSTOCKPL_CONSUMER_ID"),
        ({"TICKSTOCKPL_LOG_LEVEL": "loud"}, "TICKSTOCKPL_LOG_LEVEL"),
        ({"TICKSTOCKPL_MAX_ENTRY_BYTES": "10"}, "TICKSTOCKPL_MAX_ENTRY_BYTES"),
        ({"TICKSTOCKPL_MAX_ENTRY_BYTES": "1M"}, "TICKSTOCKPL_MAX_ENTRY_BYTES"),
        ({"TICKSTOCKPL_READ_BUDGET_BYTES": "100"}, "TICKSTOCKPL_READ_BUDGET_BYTES"),
        # Below 4 x the entry limit: one entry at the limit must fit a reply.
        ({"TICKSTOCKPL_MAX_ENTRY_BYTES": "1048576", "TICKSTOCKPL_READ_BUDGET_BYTES": "2097152"},
         "TICKSTOCKPL_READ_BUDGET_BYTES"),
        ({"TICKSTOCKPL_DEAD_LETTER_PAYLOAD_BYTES": "-1"}, "TICKSTOCKPL_DEAD_LETTER_PAYLOAD_BYTES"),
        ({"TICKSTOCKPL_DEAD_LETTER_MAX_BYTES": "1000"}, "TICKSTOCKPL_DEAD_LETTER_MAX_BYTES"),
        ({"TICKSTOCKPL_MAX_TICKERS": "0"}, "TICKSTOCKPL_MAX_TICKERS"),
        ({"TICKSTOCKPL_SEEN_WINDOW": "100"}, "TICKSTOCKPL_SEEN_WINDOW"),
        ({"TICKSTOCKPL_SEEN_TTL": "0"}, "TICKSTOCKPL_SEEN_TTL"),
    ],
)
def test_invalid_value_names_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert err.value.variable == variable
    assert str(err.value).startswith(variable)


def test_cli_exits_2_naming_the_variable() -> None:
    proc = subprocess.run(
        [*TICKSTOCKPL, "consume"], env=subprocess_env({"TICKSTOCKPL_BATCH_SIZE": "lots"}),
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2
    assert "TICKSTOCKPL_BATCH_SIZE" in proc.stderr and "Traceback" not in proc.stderr


def test_passwords_from_files(tmp_path) -> None:
    (tmp_path / "redis").write_text("s3cret-redis-password\n")
    (tmp_path / "sentinel").write_text("s3cret-sentinel-password")
    s = Settings.from_env({
        "REDIS_PASSWORD_FILE": str(tmp_path / "redis"),
        "REDIS_SENTINEL_PASSWORD_FILE": str(tmp_path / "sentinel"),
    })
    assert (s.redis_password, s.sentinel_password) == ("s3cret-redis-password", "s3cret-sentinel-password")
    assert "s3cret" not in repr(s)
    with pytest.raises(SettingsError, match=r"^REDIS_PASSWORD_FILE: set REDIS_PASSWORD or"):
        Settings.from_env({"REDIS_PASSWORD": "x" * 16, "REDIS_PASSWORD_FILE": str(tmp_path / "redis")})
    (tmp_path / "empty").write_text("")
    for path in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(SettingsError, match=r"^REDIS_SENTINEL_PASSWORD_FILE: "):
            Settings.from_env({"REDIS_SENTINEL_PASSWORD_FILE": str(path)})
