"""Tests of the kit's own tooling: filters, the contract, the preflight."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "filter"))
sys.path.insert(0, str(ROOT / "plugins" / "vars"))
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
