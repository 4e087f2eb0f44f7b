"""The fault list is the faults directory, and every fault file sets what inject.yml asks."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from drill_faults import faults

ROOT = Path(__file__).resolve().parents[2]
DRILLS = ROOT / "playbooks" / "drills"


def _asked() -> set[str]:
    """The names inject.yml's check asks a fault file to set (read from the check itself)."""
    tasks = yaml.safe_load((DRILLS / "inject.yml").read_text())
    check = next(t for t in tasks if "ansible.builtin.assert" in t)
    return {m for line in check["ansible.builtin.assert"]["that"] for m in re.findall(r"\bdrill_\w+", line)}


def _set_by(path: Path) -> set[str]:
    """What a task file sets with set_fact, following its import_tasks / include_tasks of fixed files."""
    names: set[str] = set()
    for task in yaml.safe_load(path.read_text()) or []:
        names |= set((task.get("ansible.builtin.set_fact") or {}).keys())
        for key in ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks"):
            if isinstance(task.get(key), str) and "{{" not in task[key]:
                names |= _set_by((path.parent / task[key]).resolve())
    return names


def test_the_fault_list_is_the_directory(tmp_path: Path) -> None:
    assert faults(str(DRILLS / "faults")) == sorted(p.stem for p in (DRILLS / "faults").glob("*.yml"))
    assert {"kill", "partition", "replica-restart", "sentinel-down-kill", "stop"} <= set(faults(str(DRILLS / "faults")))
    (tmp_path / "b.yml").write_text("")
    (tmp_path / "a.yml").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert faults(str(tmp_path)) == ["a", "b"]


def test_every_fault_file_sets_what_inject_asks() -> None:
    asked = _asked()
    assert asked == {"drill_fault_at", "drill_fault_notes", "drill_sentinels_down"}
    for name in faults(str(DRILLS / "faults")):
        missing = asked - _set_by(DRILLS / "faults" / f"{name}.yml")
        assert not missing, f"faults/{name}.yml does not set {sorted(missing)}"


def test_a_master_crash_goes_through_the_shared_step() -> None:
    # kill-master.yml holds the one SIGKILL of the master; a fault file imports it, never sends its own.
    signal = re.compile(r"(systemctl\s+kill|\bkill\s+-(9|KILL|s\s+KILL))")
    assert signal.search((DRILLS / "kill-master.yml").read_text())
    for path in (DRILLS / "faults").glob("*.yml"):
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        assert not signal.search(code), path.name
    importers = {p.stem for p in (DRILLS / "faults").glob("*.yml") if "../kill-master.yml" in p.read_text()}
    assert importers == {"kill", "replica-restart", "sentinel-down-kill"}
