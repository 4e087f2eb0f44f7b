"""The consumer package's release: its version and a hash of exactly the sources it is built from.

    find_result.files | tickstock_consumer_release(pyproject_text, source_dir)
        -> {"version": "0.1.0", "release": "0.1.0-<12 hex>", "files": [the hashed files, by path]}

A release names one wheelhouse and one install: the same version built from
other sources is another release, so it is rebuilt and reinstalled. Files
under build/, dist/, *.egg-info/, __pycache__/ or a dot-directory are left out
(pip and editors leave them there; they are not sources).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

NOT_SOURCES = re.compile(r"/(\.[^/]*|build|dist|[^/]*\.egg-info|__pycache__)/")


def release(files: Iterable[Mapping[str, Any]], pyproject: str, source_dir: str) -> dict[str, Any]:
    version = str(tomllib.loads(pyproject)["project"]["version"])
    # Ordered as Jinja's sort(attribute='path') did (without case), so releases keep their names.
    kept = sorted((f for f in files if not NOT_SOURCES.search(str(f["path"]))), key=lambda f: str(f["path"]).lower())
    digest = "".join(f"{os.path.relpath(str(f['path']), source_dir)}={f['checksum']};" for f in kept)
    return {"version": version, "release": f"{version}-{hashlib.sha256(digest.encode()).hexdigest()[:12]}",
            "files": kept}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_consumer_release": release}
