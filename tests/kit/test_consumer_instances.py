"""Stream instances 1..N, pub/sub instances from 101."""

from consumer_instances import (
    files,
    instances,
    other_wheelhouses,
    publisher_restart,
    reload,
    removed,
    restarts,
    unit_names,
    units,
)
from tickstock_host_read import parse_units


def read(show: str) -> dict[str, object]:
    """A tickstock_host result holding the units of a systemctl show output."""
    return {"units": parse_units(show)}


def test_stream_then_pubsub():
    table = instances([1, 2, 101, 102], [{"tickers": ["AAPL", "MSFT"]}, {}], 9108)
    assert [(t["id"], t["mode"], t["tickers"], t["port"]) for t in table] == [
        (1, "stream", [], 9108),
        (2, "stream", [], 9109),
        (101, "pubsub", ["AAPL", "MSFT"], 9208),
        (102, "pubsub", [], 9209),
    ]


def test_files_directories_first_and_each_tagged_with_its_readers():
    pw = [{"name": "consumer.password", "login": "consumer", "group": "tickstockpl", "password": "a"},
          {"name": "drill-sentinel.password", "login": "drill", "group": "root", "password": "b"}]
    out = files(["1", "101"], {"consumer": "tsc", "drill": "tsd"}, pw, "/etc/c", "/etc/s", publisher=False)
    assert [(e["path"], e["tag"]) for e in out] == [
        ("/etc/c", "nobody"),
        ("/etc/c/tickstockpl.env", "all"),
        ("/etc/c/consumer.env", "consumers"),
        ("/etc/c/drill.env", "nobody"),
        ("/etc/s", "nobody"),
        ("/etc/s/consumer.password", "consumers"),
        ("/etc/s/drill-sentinel.password", "nobody"),
        ("/etc/s/sentinel.password", "nobody"),
        ("/etc/c/instance-1.env", "instance:1"),
        ("/etc/c/instance-101.env", "instance:101"),
        ("/etc/systemd/system/tickstockpl@.service", "consumers-unit"),
    ]
    by_path = {e["path"]: e for e in out}
    assert by_path["/etc/s/consumer.password"] == {
        "path": "/etc/s/consumer.password", "content": "a\n", "owner": "root", "group": "tickstockpl",
        "mode": "0640", "secret": True, "tag": "consumers"}
    assert by_path["/etc/c/drill.env"]["vars"] == {"item": {"key": "drill", "value": "tsd"}}
    assert by_path["/etc/c/instance-101.env"]["vars"] == {"item": "101"}
    assert by_path["/etc/s/sentinel.password"]["state"] == "absent"
    # Whatever holds a login's name or a password is never shown in a diff.
    assert all(e.get("secret") for e in out if e["path"].startswith("/etc/s/") and e.get("state") != "absent")
    assert all(by_path[p]["secret"] for p in ("/etc/c/tickstockpl.env", "/etc/c/consumer.env", "/etc/c/drill.env"))
    with_publisher = files([], {}, [], "/c", "/s", publisher=True)
    assert with_publisher[-1]["tag"] == "publisher-unit"
    assert with_publisher[-1]["template"] == "tickstockpl-publisher.service.j2"


def test_restarts_only_running_instances_that_read_a_changed_file_in_id_order():
    ids = ["1", "2", "10", "101"]
    running = ["101", "10", "1", "2"]
    assert restarts([], ids, running, package_changed=False) == []
    assert restarts(["nobody", "publisher", "publisher-unit"], ids, running, package_changed=False) == []
    assert restarts(["instance:2", "instance:101"], ids, running, package_changed=False) == ["2", "101"]
    for tag in ("all", "consumers", "consumers-unit"):
        assert restarts([tag], ids, running, package_changed=False) == ["1", "2", "10", "101"]
    assert restarts([], ids, running, package_changed=True) == ["1", "2", "10", "101"]
    # Not running before this run: its start already read the new files.
    assert restarts(["all"], ids, ["2"], package_changed=False) == ["2"]
    assert restarts(["instance:7"], ids, ["7"], package_changed=False) == []


def test_publisher_restart_on_its_own_files_shared_files_or_package():
    assert not publisher_restart([], package_changed=False)
    assert not publisher_restart(["consumers", "consumers-unit", "instance:1", "nobody"], package_changed=False)
    for tag in ("all", "publisher", "publisher-unit"):
        assert publisher_restart([tag], package_changed=False)
    assert publisher_restart([], package_changed=True)


def test_reload_after_either_unit_only():
    assert not reload([])
    assert not reload(["all", "consumers", "publisher", "instance:1", "nobody"])
    assert reload(["consumers-unit"])
    assert reload(["nobody", "publisher-unit"])


# As systemctl 252 prints it for three instances: one running, one failed and disabled, one never started.
SHOW = """Id=tickstockpl@1.service
ActiveState=active
UnitFileState=enabled

Id=tickstockpl@2.service
ActiveState=failed
UnitFileState=disabled

Id=tickstockpl@101.service
ActiveState=activating
UnitFileState=enabled
"""


def test_units_from_one_systemctl_show():
    # The read tickstock_host returns: systemctl show parsed by module_utils/tickstock_host_read.py.
    assert units(["1", "2", "101"], read(SHOW)) == {
        "running": ["1", "101"],
        "active": ["1"],
        "to_start": ["2", "101"],
    }
    # An instance systemctl did not describe (no output at all) is started.
    assert units(["1", "7"], read(SHOW))["to_start"] == ["7"]
    assert units(["1"], read("")) == {"running": [], "active": [], "to_start": ["1"]}
    # Enabled but stopped, or running but not enabled: both need the start task.
    one = "Id=tickstockpl@1.service\nActiveState={}\nUnitFileState={}\n"
    assert units(["1"], read(one.format("inactive", "enabled")))["to_start"] == ["1"]
    assert units(["1"], read(one.format("active", "disabled")))["to_start"] == ["1"]


def test_unit_names_are_the_instances_then_the_publisher():
    assert unit_names(["1", 101]) == [
        "tickstockpl@1.service", "tickstockpl@101.service", "tickstockpl-publisher.service"]


def test_removed_instances_are_those_on_the_host_no_longer_wanted():
    on_host = ["/etc/systemd/system/multi-user.target.wants/tickstockpl@1.service",
               "/etc/systemd/system/multi-user.target.wants/tickstockpl@3.service",
               "/etc/tickstockpl/instance-3.env", "/etc/tickstockpl/instance-102.env",
               "/etc/tickstockpl/instance-x.env"]
    assert removed(on_host, ["1", "2", "101"]) == ["102", "3"]
    assert removed(on_host, ["1", "3", "102"]) == []
    assert removed([], ["1"]) == []


def test_other_wheelhouses_keep_this_release():
    dirs = ["/opt/tickstockpl/wheels/0.9.0-aaa/", "/opt/tickstockpl/wheels/0.9.0-bbb/"]
    assert other_wheelhouses(dirs, "0.9.0-bbb") == ["/opt/tickstockpl/wheels/0.9.0-aaa"]
    assert other_wheelhouses([], "0.9.0-bbb") == []
