"""tickstock_host: its parsers, its decisions, and the module run by ansible on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from host_state import groups_missing, installed, packages_missing, unit_up, user_differs
from tickstock_host_read import accounts, globs, parse_dpkg, parse_units, paths

ROOT = Path(__file__).resolve().parents[2]

DPKG = "redis-server\tinstalled\t5:7.0.15-1~deb12u10\nredis-tools\tconfig-files\t5:7.0.15-1~deb12u10\nnoise\n"
SHOW = """Id=redis-server.service
LoadState=loaded
ActiveState=active
UnitFileState=enabled

Id=redis-sentinel.service
LoadState=loaded
ActiveState=active
UnitFileState=disabled

LoadState=not-found
"""


def test_dpkg_lists_only_installed_packages() -> None:
    # A removed package whose config files remain is not installed: apt must run.
    assert parse_dpkg(DPKG) == {"redis-server": "5:7.0.15-1~deb12u10"}
    assert parse_dpkg("") == {}


def test_units_are_keyed_by_id() -> None:
    units = parse_units(SHOW)
    assert set(units) == {"redis-server.service", "redis-sentinel.service"}
    assert units["redis-server.service"]["ActiveState"] == "active"


def test_accounts_and_paths_from_this_machine(tmp_path: Path) -> None:
    found = accounts(["root", "no-such-user-4f1"], ["root", "no-such-group-4f1"])
    assert found["users"]["root"]["group"] == "root"
    assert found["users"]["root"]["uid"] == 0
    assert "no-such-user-4f1" not in found["users"]
    assert set(found["groups"]) == {"root"}
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    dangling = str(tmp_path / "dangling")
    assert paths([str(tmp_path), dangling]) == {str(tmp_path): True, dangling: False}
    (tmp_path / "wheels" / "b").mkdir(parents=True)
    (tmp_path / "wheels" / "a").mkdir()
    (tmp_path / "wheels" / "file").write_text("")
    pattern = f"{tmp_path}/wheels/*/"
    assert globs([pattern]) == {pattern: [f"{tmp_path}/wheels/a/", f"{tmp_path}/wheels/b/"]}


def test_install_only_what_is_missing() -> None:
    read = {"packages": parse_dpkg(DPKG)}
    assert packages_missing(read, ["redis-server", "redis-tools"]) == ["redis-tools"]
    assert packages_missing(read, ["redis-server"]) == []
    # A skipped read (no packages key) means: install.
    assert packages_missing({"skipped": True}, ["redis-server"]) == ["redis-server"]


def test_the_newest_read_gives_the_version() -> None:
    before = {"packages": {}}
    after = {"packages": {"valkey-server": "8.1.1+dfsg1-3"}}
    assert installed([before, after], "valkey-server") == "8.1.1+dfsg1-3"
    # The read after an install was skipped (nothing installed): the first read holds it.
    assert installed([after, {"skipped": True}], "valkey-server") == "8.1.1+dfsg1-3"
    assert installed([before, {"skipped": True}], "valkey-server") == ""
    assert installed([], "valkey-server") == ""


def test_a_unit_is_up_only_when_active_and_enabled() -> None:
    read = {"units": parse_units(SHOW)}
    assert unit_up(read, "redis-server.service")
    assert not unit_up(read, "redis-sentinel.service")
    assert not unit_up(read, "valkey-server.service")
    assert not unit_up({}, "redis-server.service")


def test_accounts_decide_the_group_and_user_tasks() -> None:
    read = {"groups": {"tickstockpl": {"gid": 998}},
            "users": {"tickstockpl": {"uid": 998, "group": "tickstockpl", "home": "/var/lib/tickstockpl",
                                      "shell": "/usr/sbin/nologin", "comment": "TickStockPL consumer"}}}
    assert groups_missing(read, ["tickstockpl", "tickstockpl-publisher"]) == ["tickstockpl-publisher"]
    wanted = ("tickstockpl", "tickstockpl", "/var/lib/tickstockpl", "/usr/sbin/nologin", "TickStockPL consumer")
    assert not user_differs(read, *wanted)
    assert user_differs(read, "tickstockpl-publisher", *wanted[1:])
    for i in range(1, 5):
        changed = list(wanted)
        changed[i] = changed[i] + "x"
        assert user_differs(read, *changed), changed


def test_the_module_run_by_ansible_reads_and_changes_nothing(tmp_path: Path) -> None:
    args = {"packages": ["bash", "no-such-package-4f1"], "users": ["root"], "groups": ["no-such-group-4f1"],
            "paths": [str(tmp_path), str(tmp_path / "missing")]}
    # The kit's module paths without its ansible.cfg, whose profile_tasks would print beside the JSON.
    (tmp_path / "ansible.cfg").write_text("")
    env = {**os.environ, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"), "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           "ANSIBLE_LIBRARY": str(ROOT / "plugins" / "modules"),
           "ANSIBLE_MODULE_UTILS": str(ROOT / "plugins" / "module_utils"),
           "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}
    done = subprocess.run(["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "tickstock_host",
                           "-a", json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] is False
    assert set(result["packages"]) == {"bash"}
    assert result["users"]["root"]["uid"] == 0
    assert result["groups"] == {}
    assert result["paths"] == {str(tmp_path): True, str(tmp_path / "missing"): False}
    assert isinstance(result["in_container"], bool)
