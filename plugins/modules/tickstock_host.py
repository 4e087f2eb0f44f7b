#!/usr/bin/python
"""Read what a host has already, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tickstock_host
short_description: Installed packages, accounts, unit states and paths of a host, in one read
description:
  - Reads; never changes anything (so it runs in check mode too).
  - The roles skip the tasks this read shows have nothing to do; those tasks still make every change.
options:
  packages: {type: list, elements: str, default: [], description: Debian packages to look up.}
  units: {type: list, elements: str, default: [], description: systemd units (with their suffix) to look up.}
  users: {type: list, elements: str, default: [], description: Users to look up.}
  groups: {type: list, elements: str, default: [], description: Groups to look up.}
  paths: {type: list, elements: str, default: [], description: Paths whose existence to report.}
  globs: {type: list, elements: str, default: [], description: Shell patterns to expand (a trailing / for directories).}
"""

RETURN = r"""
in_container: {description: Whether systemd-detect-virt finds a container., type: bool}
packages: {description: "{package: version} of those installed.", type: dict}
units: {description: "{unit: {Id, LoadState, ActiveState, UnitFileState}}.", type: dict}
users: {description: "{user: {uid, group, home, shell, comment}} of those that exist.", type: dict}
groups: {description: "{group: {gid}} of those that exist.", type: dict}
paths: {description: "{path: exists}.", type: dict}
globs: {description: "{pattern: [sorted matches]}.", type: dict}
"""

from typing import Any  # noqa: E402 (Ansible modules keep their docs first)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.tickstock_host_read import (  # noqa: E402
    DPKG_FORMAT,
    UNIT_PROPERTIES,
    accounts,
    globs,
    parse_dpkg,
    parse_units,
    paths,
)

LIST = {"type": "list", "elements": "str", "default": []}


def main() -> None:
    module = AnsibleModule(
        argument_spec={k: dict(LIST) for k in ("packages", "units", "users", "groups", "paths", "globs")},
        supports_check_mode=True,
    )
    p = module.params
    # Without the tool (no systemd), the role's fallback on the virtualization facts decides.
    detect = module.get_bin_path("systemd-detect-virt")
    in_container = bool(detect) and module.run_command([detect, "--container"])[0] == 0
    result: dict[str, Any] = {"changed": False, "in_container": in_container, "packages": {}, "units": {}}
    if p["packages"]:
        # Exit 1 when one is unknown to dpkg: the others are still printed.
        rc, out, err = module.run_command(["dpkg-query", "--show", f"--showformat={DPKG_FORMAT}", *p["packages"]])
        if rc not in (0, 1):
            module.fail_json(msg=f"tickstock_host: dpkg-query failed: {err.strip()}")
        result["packages"] = parse_dpkg(out)
    if p["units"]:
        rc, out, err = module.run_command(
            ["systemctl", "show", f"--property={','.join(UNIT_PROPERTIES)}", *p["units"]])
        if rc != 0:
            module.fail_json(msg=f"tickstock_host: systemctl show failed: {err.strip()}")
        result["units"] = parse_units(out)
    result.update(accounts(p["users"], p["groups"]))
    result["paths"] = paths(p["paths"])
    result["globs"] = globs(p["globs"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
