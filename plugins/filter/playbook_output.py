"""What an ansible-playbook run printed (default callback), read back.

    tickstock_changed_tasks(stdout) -> ["<task> on <host>", ...]   every task that reported a change
    tickstock_recap_changed(stdout) -> {host: changed, ...}         the PLAY RECAP's changed= counts
    seconds_by_role(stdout) -> {role: seconds, ...}                  with ansible.posix.profile_tasks (bench/)

A re-run must report 0 changed; when one does not, the check names the tasks.
"""

from __future__ import annotations

import re
from typing import Any

_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.+?)\]")
_CHANGED = re.compile(r"^changed: \[([^\]]+)\]")
_RECAP = re.compile(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)")
# profile_tasks' line under each task header (and under TASKS RECAP at the end): the time
# since the task before started, in parentheses.
_TOOK = re.compile(r"^\w+ \d+ \w+ \d+ .*\((\d+):(\d+):(\d+(?:\.\d+)?)\)")


def changed_tasks(stdout: Any) -> list[str]:
    """Each task (or handler) and host that reported "changed", in order, once per pair."""
    task, out = "?", []
    for line in str(stdout or "").splitlines():
        if m := _TASK.match(line):
            task = m.group(1)
        elif (m := _CHANGED.match(line)) and f"{task} on {m.group(1)}" not in out:
            out.append(f"{task} on {m.group(1)}")
    return out


def recap_changed(stdout: Any) -> dict[str, int]:
    """The changed= count of every host in the PLAY RECAP (the last recap wins)."""
    return {m.group(1): int(m.group(2)) for line in str(stdout or "").splitlines() if (m := _RECAP.match(line))}


def seconds_by_role(stdout: Any) -> dict[str, float]:
    """Wall seconds per role (tasks named "role : ...") and for the rest ("other": Gathering
    Facts, includes), from profile_tasks' timestamps. A play's own start is counted in the
    task before it: profile_tasks stamps tasks only."""
    lines = str(stdout or "").splitlines()
    out: dict[str, float] = {}
    task: str | None = None
    for i, line in enumerate(lines):
        if i == 0 or not (took := _TOOK.match(line)):
            continue
        header = _TASK.match(lines[i - 1])
        if header is None and not lines[i - 1].startswith("TASKS RECAP"):
            continue
        if task is not None:
            key = task.split(" : ")[0] if " : " in task else "other"
            seconds = int(took.group(1)) * 3600 + int(took.group(2)) * 60 + float(took.group(3))
            out[key] = round(out.get(key, 0.0) + seconds, 3)
        task = header.group(1) if header else None
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_changed_tasks": changed_tasks, "tickstock_recap_changed": recap_changed}
