"""Bring many small files and directories to a wanted state in one module run.

Why: on a re-run each ansible.builtin.template or copy costs one or two
module runs per file (about 0.3 s of CPU each on the lab); a role that writes
a dozen environment and password files pays that a dozen times.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import stat
import tempfile
from dataclasses import dataclass
from typing import Any

STATES = ("file", "directory", "absent")


class EntryError(ValueError):
    """An entry that cannot be applied; the message names the path."""


@dataclass(frozen=True)
class Entry:
    path: str
    state: str
    content: bytes | None
    uid: int
    gid: int
    mode: int
    tag: str
    create_only: bool


def parse(raw: dict[str, Any]) -> Entry:
    """One entry of the module's files list, checked and resolved."""
    path = raw.get("path")
    if not isinstance(path, str) or not os.path.isabs(path):
        raise EntryError(f"path must be an absolute path, not {path!r}")
    state = raw.get("state") or "file"
    if state not in STATES:
        raise EntryError(f"{path}: state must be one of {', '.join(STATES)}, not {state!r}")
    content = raw.get("content") if raw.get("content") is not None else raw.get("text")
    if state == "file" and not isinstance(content, str):
        raise EntryError(f"{path}: a file needs its content")
    uid = gid = mode = -1
    if state != "absent":
        owner, group = raw.get("owner") or "root", raw.get("group") or "root"
        try:
            uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
        except KeyError as exc:
            raise EntryError(f"{path}: no such user or group: {exc.args[0]}") from exc
        try:
            mode = int(str(raw.get("mode")), 8)
        except ValueError:
            raise EntryError(f"{path}: mode must be octal text such as '0640', not {raw.get('mode')!r}") from None
        if not 0 <= mode <= 0o7777:
            raise EntryError(f"{path}: mode {raw.get('mode')!r} is out of range")
    return Entry(
        path=path,
        state=state,
        content=content.encode() if isinstance(content, str) else None,
        uid=uid,
        gid=gid,
        mode=mode,
        tag=str(raw.get("tag") or path),
        create_only=bool(raw.get("create_only")),
    )


def _same_attributes(st: os.stat_result, entry: Entry) -> bool:
    return (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (entry.uid, entry.gid, entry.mode)


def difference(entry: Entry) -> str | None:
    """What differs from the wanted state: None, or a word for the report."""
    try:
        st = os.lstat(entry.path)
    except FileNotFoundError:
        return None if entry.state == "absent" else "created"
    if entry.state == "absent":
        return "removed"
    if entry.state == "directory":
        if not stat.S_ISDIR(st.st_mode):
            raise EntryError(f"{entry.path}: exists and is not a directory")
        return None if _same_attributes(st, entry) else "attributes"
    if not stat.S_ISREG(st.st_mode):
        raise EntryError(f"{entry.path}: exists and is not a regular file")
    if entry.create_only:
        return None
    with open(entry.path, "rb") as f:
        if f.read(len(entry.content or b"") + 1) != entry.content:
            return "content"
    return None if _same_attributes(st, entry) else "attributes"


def current_text(entry: Entry) -> str:
    """The file as it is now, for a diff ('' when absent)."""
    try:
        with open(entry.path, "rb") as f:
            return f.read().decode(errors="replace")
    except (FileNotFoundError, IsADirectoryError):
        return ""


def apply(entry: Entry, what: str) -> None:
    """Make one entry so; files are replaced whole (a reader never sees half)."""
    if entry.state == "absent":
        if os.path.isdir(entry.path) and not os.path.islink(entry.path):
            os.rmdir(entry.path)
        else:
            os.unlink(entry.path)
    elif entry.state == "directory":
        if what == "created":
            # Missing parents as `install -d` makes them (root-owned, umask mode), as the file module does.
            os.makedirs(entry.path, entry.mode)
        os.chown(entry.path, entry.uid, entry.gid)
        os.chmod(entry.path, entry.mode)
    elif what == "attributes":
        os.chown(entry.path, entry.uid, entry.gid)
        os.chmod(entry.path, entry.mode)
    else:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(entry.path), prefix=".tickstock-")
        try:
            with os.fdopen(fd, "wb") as f:
                # Owner and mode before the content: a secret is never readable by others.
                os.fchown(f.fileno(), entry.uid, entry.gid)
                os.fchmod(f.fileno(), entry.mode)
                f.write(entry.content or b"")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, entry.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
