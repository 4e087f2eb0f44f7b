"""The release name: version plus a hash of exactly the source files, whatever order find returns them in."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from consumer_release import release

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = '[project]\nname = "tickstockpl"\nversion = "0.1.0"\n'


def found(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"path": f"/src/consumer/{p}", "checksum": c} for p, c in pairs]


def test_version_and_hash_of_the_sources_in_path_order() -> None:
    got = release(found(("src/b.py", "2"), ("src/a.py", "1")), PYPROJECT, "/src/consumer")
    digest = hashlib.sha256(b"src/a.py=1;src/b.py=2;").hexdigest()[:12]
    assert got["version"] == "0.1.0"
    assert got["release"] == f"0.1.0-{digest}"
    assert [f["path"] for f in got["files"]] == ["/src/consumer/src/a.py", "/src/consumer/src/b.py"]
    # The same files listed in another order: the same release.
    assert release(found(("src/a.py", "1"), ("src/b.py", "2")), PYPROJECT, "/src/consumer") == got


def test_paths_are_ordered_without_case_as_the_old_jinja_sort_did() -> None:
    # Deployed releases keep their names: Jinja's sort(attribute='path') ignored case.
    got = release(found(("Zeta.py", "1"), ("alpha.py", "2")), PYPROJECT, "/src/consumer")
    assert got["release"] == "0.1.0-" + hashlib.sha256(b"alpha.py=2;Zeta.py=1;").hexdigest()[:12]


def test_build_leftovers_are_not_sources_and_a_changed_source_is_a_new_release() -> None:
    base = found(("src/a.py", "1"))
    leftovers = found(("build/lib/a.py", "9"), ("dist/x.toml", "9"), ("src/x.egg-info/t.toml", "9"),
                      ("src/__pycache__/a.py", "9"), (".venv/lib/a.py", "9"))
    assert release(base + leftovers, PYPROJECT, "/src/consumer") == release(base, PYPROJECT, "/src/consumer")
    assert release(found(("src/a.py", "2")), PYPROJECT, "/src/consumer")["release"] != \
        release(base, PYPROJECT, "/src/consumer")["release"]
    bumped = PYPROJECT.replace("0.1.0", "0.1.1")
    assert release(base, bumped, "/src/consumer")["release"].startswith("0.1.1-")


def test_the_packages_own_pyproject_gives_its_version() -> None:
    text = (ROOT / "consumer" / "pyproject.toml").read_text()
    assert release([], text, str(ROOT / "consumer"))["version"]
    with pytest.raises(KeyError):
        release([], "[tool.x]\n", "/src")
