"""tickstock_files: its logic on a real file system, and the action and module run by ansible-playbook."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from tickstock_paths import EntryError, apply, difference, parse

ROOT = Path(__file__).resolve().parents[2]
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def entry(path: Path, **kw: object) -> dict[str, object]:
    return {"path": str(path), "owner": ME, "group": MY_GROUP, "mode": "0640", **kw}


def converge(raw: dict[str, object]) -> str | None:
    e = parse(raw)
    what = difference(e)
    if what is not None:
        apply(e, what)
    return what


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_file_is_created_then_left_alone_then_rewritten_on_content_or_mode(tmp_path: Path) -> None:
    f = tmp_path / "a.env"
    assert converge(entry(f, content="A=1\n")) == "created"
    assert (f.read_text(), mode(f)) == ("A=1\n", 0o640)
    assert converge(entry(f, content="A=1\n")) is None
    assert converge(entry(f, content="A=1\nB=2\n")) == "content"
    assert f.read_text() == "A=1\nB=2\n"
    assert converge(entry(f, content="A=1\n")) == "content"  # a prefix of what is there is not the same
    assert f.read_text() == "A=1\n"
    assert converge(entry(f, content="A=1\n", mode="0600")) == "attributes"
    assert mode(f) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a.env"]  # no temporary file left beside it


def test_directories_absent_and_create_only(tmp_path: Path) -> None:
    d = tmp_path / "etc" / "ansible" / "conf"  # parents missing, as /etc/ansible on a fresh host
    assert converge(entry(d, state="directory", mode="0711")) == "created"
    assert (d.is_dir(), mode(d)) == (True, 0o711)
    assert converge(entry(d, state="directory", mode="0711")) is None
    assert converge(entry(d, state="directory", mode="0700")) == "attributes"
    f = d / "once.conf"
    assert converge(entry(f, content="first\n", create_only=True)) == "created"
    assert converge(entry(f, content="second\n", create_only=True)) is None
    assert f.read_text() == "first\n"
    assert converge({"path": str(f), "state": "absent"}) == "removed"
    assert not f.exists()
    assert converge({"path": str(f), "state": "absent"}) is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"path": "relative/x", "content": ""}, "absolute path"),
        ({"path": "/x", "state": "link"}, "/x: state must be one of"),
        ({"path": "/x", "mode": "0600"}, "/x: a file needs its content"),
        ({"path": "/x", "content": "", "mode": "rw-r"}, "/x: mode must be octal"),
        ({"path": "/x", "content": "", "mode": "17777"}, "/x: mode '17777' is out of range"),
        ({"path": "/x", "content": "", "mode": "0600", "owner": "no-such-user-here"}, "/x: no such user or group"),
        ({"path": "/x", "content": "", "mode": "0600", "group": "no-such-group-here"}, "/x: no such user or group"),
    ],
)
def test_bad_entries_are_refused_naming_the_path(raw: dict[str, object], message: str) -> None:
    with pytest.raises(EntryError, match=message.replace("(", r"\(")):
        parse(raw)


def test_the_wrong_kind_of_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("")
    with pytest.raises(EntryError, match="is not a regular file"):
        difference(parse(entry(tmp_path / "dir", content="x")))
    with pytest.raises(EntryError, match="is not a directory"):
        difference(parse(entry(tmp_path / "file", state="directory")))


PLAYBOOK = """
- name: Files
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    greeting: hello
  tasks:
    - name: Write them
      tickstock_files:
        files:
          - {{path: "{d}", state: directory, mode: "0700", tag: dir}}
          - {{path: "{d}/plain.env", template: "t.j2", vars: {{item: one}}, mode: "0644", tag: plain}}
          - {{path: "{d}/secret.password", content: "{secret}\\n", mode: "0600", secret: true, tag: pw}}
      register: written
    - name: Show what changed
      ansible.builtin.debug:
        msg: "tags={{{{ written.changed_tags }}}}"
"""


def run_playbook(tmp_path: Path, secret: str) -> str:
    book = tmp_path / "play"
    (book / "templates").mkdir(parents=True, exist_ok=True)
    (book / "templates" / "t.j2").write_text("GREETING={{ greeting }}-{{ item }}\n")
    (book / "files.yml").write_text(PLAYBOOK.format(d=tmp_path / "out", secret=secret))
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    done = subprocess.run(["ansible-playbook", "-i", "localhost,", "-vvv", "--diff", "files.yml"], cwd=book, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_ansible_playbook_renders_writes_reports_and_never_shows_the_secret(tmp_path: Path) -> None:
    secret = "s3cret-Zq81-never-shown"
    first = run_playbook(tmp_path, secret)
    assert "tags=['dir', 'plain', 'pw']" in first
    assert (tmp_path / "out" / "plain.env").read_text() == "GREETING=hello-one\n"
    assert (tmp_path / "out" / "secret.password").read_text() == secret + "\n"
    assert "+GREETING=hello-one" in first  # the diff of the plain file
    assert secret not in first
    again = run_playbook(tmp_path, secret)
    assert "tags=[]" in again
    assert "changed=0" in again
    (tmp_path / "out" / "secret.password").write_text("tampered\n")
    third = run_playbook(tmp_path, secret)
    assert "tags=['pw']" in third
    assert secret not in third
    assert "tampered" not in third
