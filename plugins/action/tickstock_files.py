"""Render the entries that name a template, then run the module tickstock_files."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        # The same lookup as `lookup('ansible.builtin.template', ...)`: role templates/, ansible_managed.
        render = lookup_loader.get("ansible.builtin.template", loader=self._loader, templar=self._templar)
        files = []
        for raw in self._task.args.get("files") or []:
            entry = dict(raw)
            template = entry.pop("template", None)
            template_vars = entry.pop("vars", None) or {}
            if template is not None:
                entry["content"] = render.run([template], task_vars, template_vars=template_vars)[0]
            if not entry.get("secret") and entry.get("content") is not None:
                # Not masked, so that a diff can show it.
                entry["text"] = entry.pop("content")
            files.append(entry)
        result.update(self._execute_module(
            module_name="tickstock_files", module_args={"files": files}, task_vars=task_vars))
        return result
