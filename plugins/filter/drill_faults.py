"""The drill faults: one file each in playbooks/drills/faults/, and nothing else lists them.

    faults_dir | tickstock_drill_faults -> ["kill", "partition", ...] (sorted)

playbooks/drills/vars.yml (drill_faults) and the Molecule failover scenario
both ask this, so neither can hold a fault the other lacks. What a fault file
must set is written in playbooks/drills/inject.yml, which checks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def faults(directory: str) -> list[str]:
    return sorted(p.stem for p in Path(directory).glob("*.yml") if p.is_file())


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_drill_faults": faults}
