#!/usr/bin/python
"""Write many small files and directories in one run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: tickstock_files
short_description: Many small files, directories and removals in one module run
description:
  - Brings each entry of I(files) to its state, in order, and reports which changed.
  - Files are replaced whole (written beside, owner and mode set, then renamed).
  - Content is never returned; a diff is shown only for entries given as I(text).
  - The action plugin of the same name first renders entries that name a I(template), and gives
    the content of entries not marked I(secret) as I(text).
options:
  files:
    type: list
    elements: dict
    required: true
    description: The entries, applied in order (a directory before the files in it).
    suboptions:
      path: {type: str, required: true, description: Absolute path.}
      state: {type: str, default: file, choices: [file, directory, absent], description: What the path must be.}
      content: {type: str, no_log: true, description: The whole content of a file; masked in every output.}
      text: {type: str, description: The whole content of a file that is not I(secret); shown in diffs.}
      template: {type: str, description: A template of the role whose rendering is the content (action plugin).}
      vars: {type: dict, description: Variables for that template only.}
      owner: {type: str, default: root, description: Owner.}
      group: {type: str, default: root, description: Group.}
      mode: {type: str, description: Octal mode such as '0640'.}
      secret: {type: bool, default: false, description: Never show this entry in a diff.}
      create_only: {type: bool, default: false, description: Write the file only when it is missing.}
      tag: {type: str, description: A name for the entry in C(changed_tags); the path by default.}
"""

RETURN = r"""
changed_paths: {description: The paths that changed (or would, in check mode)., type: list}
changed_tags: {description: The tags of those entries., type: list}
"""

from typing import Any  # noqa: E402 (Ansible modules keep their docs first)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.tickstock_paths import (  # noqa: E402
    EntryError,
    apply,
    current_text,
    difference,
    parse,
)

ENTRY: dict[str, Any] = {
    "path": {"type": "str", "required": True},
    "state": {"type": "str", "default": "file", "choices": ["file", "directory", "absent"]},
    "content": {"type": "str", "no_log": True},
    "text": {"type": "str"},
    "template": {"type": "str"},
    "vars": {"type": "dict"},
    "owner": {"type": "str", "default": "root"},
    "group": {"type": "str", "default": "root"},
    "mode": {"type": "str"},
    "secret": {"type": "bool", "default": False},
    "create_only": {"type": "bool", "default": False},
    "tag": {"type": "str"},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={"files": {"type": "list", "elements": "dict", "required": True, "options": ENTRY}},
        supports_check_mode=True,
    )
    changed: list[tuple[str, str]] = []
    diffs: list[dict[str, str]] = []
    for raw in module.params["files"]:
        try:
            entry = parse(raw)
            what = difference(entry)
            if what is None:
                continue
            if module._diff and raw["text"] is not None and what != "attributes":
                diffs.append({
                    "before_header": entry.path, "after_header": entry.path,
                    "before": current_text(entry), "after": (entry.content or b"").decode(),
                })
            if not module.check_mode:
                apply(entry, what)
        except (EntryError, OSError) as exc:
            module.fail_json(msg=f"tickstock_files: {exc}", changed_paths=[p for p, _ in changed])
        changed.append((entry.path, entry.tag))
    module.exit_json(
        changed=bool(changed),
        changed_paths=[p for p, _ in changed],
        changed_tags=[t for _, t in changed],
        diff=diffs,
    )


if __name__ == "__main__":
    main()
