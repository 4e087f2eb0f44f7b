"""How long a re-run of site.yml takes on the lab, and where the time goes.

Needs the lab (`bash lab/up`); run from the repository root with the venv on PATH:

    python bench/site_rerun.py [--runs 3] [--failover]

With --failover the master's whole container is killed first and started again
once the Sentinels have promoted another (issue: a re-run after a failover
takes <= 30 s and reports 0 changed). Prints JSON: each run's wall seconds,
the changed count, and the seconds per role of the last run (profile_tasks).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins" / "filter"))
from playbook_output import recap_changed, seconds_by_role  # noqa: E402

# ansible.cfg enables profile_tasks, which seconds_by_role reads.
ENV = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}


def playbook(*args: str) -> str:
    done = subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"site_rerun: ansible-playbook {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return done.stdout


def master_host() -> str:
    """The lab container that holds the master's address (the status playbook's Sentinel table)."""
    status = playbook("playbooks/status.yml")
    addr = next(line.split()[2] for line in status.splitlines() if "master" in line.split()[3:4])
    ip = addr.rsplit(":", 1)[0]
    names = subprocess.run(["docker", "ps", "--format", "{{.Names}}"], capture_output=True, text=True,
                           check=True).stdout.split()
    for name in names:
        got = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                              name], capture_output=True, text=True, check=True).stdout.strip()
        if got == ip:
            return name
    sys.exit(f"site_rerun: no lab container has the master's address {ip}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--failover", action="store_true", help="kill the master's container first")
    args = p.parse_args()
    killed = None
    if args.failover:
        killed = master_host()
        subprocess.run(["docker", "kill", killed], check=True, capture_output=True)
        time.sleep(15)  # down-after 2 s in the lab, then the election
        subprocess.run(["docker", "start", killed], check=True, capture_output=True)
        time.sleep(20)  # systemd boots; the old master rejoins as a replica
    walls, changed, out = [], [], ""
    for _ in range(args.runs):
        t0 = time.monotonic()
        out = playbook("site.yml")
        walls.append(round(time.monotonic() - t0, 2))
        changed.append(sum(recap_changed(out).values()))
    print(json.dumps({
        "runs_s": walls, "median_s": statistics.median(walls), "changed": changed,
        "killed_master": killed, "new_master": master_host() if killed else None,
        "by_role_s_last_run": seconds_by_role(out),
    }))


if __name__ == "__main__":
    main()
