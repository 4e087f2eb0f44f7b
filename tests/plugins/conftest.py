"""The filter plugins are plain Python: import them straight from plugins/filter."""

from __future__ import annotations

import sys
from pathlib import Path

FILTERS = Path(__file__).resolve().parents[2] / "plugins" / "filter"
if str(FILTERS) not in sys.path:
    sys.path.insert(0, str(FILTERS))
