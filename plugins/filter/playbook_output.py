"""What an ansible-playbook run printed (default callback), read back.

    tickstock_changed_tasks(stdout) -> ["<task> on <host>", ...]   every task that reported a change
    tickstock_recap_changed(stdout) -> {host: changed, ...}         the PLAY RECAP's changed= counts

A re-run must report 0 changed; when one does not, the check names the tasks.
"""

from __future__ import annotations

import re
from typing import Any

_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.+?)\]")
_CHANGED = re.compile(r"^changed: \[([^\]]+)\]")
_RECAP = re.compile(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)")


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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_changed_tasks": changed_tasks, "tickstock_recap_changed": recap_changed}
