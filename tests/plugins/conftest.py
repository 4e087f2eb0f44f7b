"""The filter plugins are plain Python: import them straight from plugins/filter."""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root (tests/kit's conftest names it the same way).
ROOT = Path(__file__).resolve().parents[2]
FILTERS = ROOT / "plugins" / "filter"
for path in (FILTERS, ROOT / "plugins" / "module_utils"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
