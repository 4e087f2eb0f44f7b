"""Offer the TickStock contract (consumer/src/tickstockpl/contract.toml) to every host.

Each key becomes the variable ``tickstock_<key>``. The values are attached to
the group ``all`` and this plugin runs before ``host_group_vars`` (see
ansible.cfg), so inventory group_vars still override them.
"""

from __future__ import annotations

import os
import tomllib
from typing import Any

from ansible.errors import AnsibleError
from ansible.inventory.group import Group
from ansible.plugins.vars import BaseVarsPlugin

DOCUMENTATION = """
    name: tickstock_contract
    short_description: The TickStock contract names and numbers as tickstock_* variables
    description:
      - Reads consumer/src/tickstockpl/contract.toml from this repository and
        gives each key to the group all as tickstock_<key>.
    options:
      stage:
        # Only beside the inventory: then the inventory's group_vars, which
        # host_group_vars reads after this plugin, override the contract.
        default: inventory
        ini:
          - key: stage
            section: vars_tickstock_contract
        env:
          - name: ANSIBLE_VARS_PLUGIN_STAGE
"""

CONTRACT_PATH = os.path.join(
    os.path.dirname(__file__), "..", "..", "consumer", "src", "tickstockpl", "contract.toml"
)
PREFIX = "tickstock_"


def load_contract(path: str = CONTRACT_PATH) -> dict[str, Any]:
    """The contract as Ansible variables: {"tickstock_<key>": value}."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AnsibleError(f"tickstock_contract: cannot read {path}: {exc}") from exc
    out: dict[str, Any] = {PREFIX + key: value for key, value in data.items()}
    # The names themselves, so that site.yml can check every host agrees.
    out[PREFIX + "contract_names"] = sorted(out)
    return out


class VarsModule(BaseVarsPlugin):  # type: ignore[misc]
    REQUIRES_ENABLED = True

    _cache: dict[str, Any] | None = None

    def get_vars(self, loader: Any, path: str, entities: Any, cache: bool = True) -> dict[str, Any]:
        super().get_vars(loader, path, entities)
        if not isinstance(entities, list):
            entities = [entities]
        if not any(isinstance(e, Group) and e.name == "all" for e in entities):
            return {}
        if VarsModule._cache is None:
            VarsModule._cache = load_contract()
        return dict(VarsModule._cache)
