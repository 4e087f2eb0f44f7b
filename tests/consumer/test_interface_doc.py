"""docs/interface.md against the code: settings, metrics, contract values, tick and event fields."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase
from tickstockpl.contract import CONTRACT
from tickstockpl.metrics import Metrics
from tickstockpl.patterns import PatternEvent
from tickstockpl.settings import variables
from tickstockpl.ticks import Tick

DOC = (Path(__file__).parents[2] / "docs" / "interface.md").read_text()
# Defaults the doc states in words: computed at run time.
RUNTIME_DEFAULTS = {"TICKSTOCKPL_CONSUMER_ID", "TICKSTOCKPL_WAIT_REPLICAS"}


def table(heading: str) -> dict[str, list[str]]:
    """First column (without backticks) -> the other cells, for the table under `heading`."""
    section = DOC.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 2:
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def shown(value: object) -> str:
    if value is None:
        return "unset"
    if value == ():
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, tuple):
        return "`" + ",".join(map(str, value)) + "`"
    return f"`{value}`"


def test_every_setting_is_documented_with_its_default() -> None:
    rows = table("Settings")
    assert set(rows) == set(variables())
    for variable, f in variables().items():
        if variable in RUNTIME_DEFAULTS:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        assert rows[variable][0] == shown(default), variable


def test_every_metric_is_documented() -> None:
    m = Metrics()
    names = {w._name for w in vars(m).values() if isinstance(w, MetricWrapperBase)}
    # prometheus_client drops a counter's _total; the doc names the series as scraped.
    documented = {re.sub(r"_total$", "", n) for n in table("Metrics")}
    assert documented == names


def test_contract_values_are_quoted_as_they_are() -> None:
    for f in dataclasses.fields(CONTRACT):
        value = getattr(CONTRACT, f.name)
        value = str(value).lower() if isinstance(value, bool) else value
        assert f"`{value}" in DOC and f"`{f.name}`" in DOC, f.name  # prefixes are quoted with their suffix


def test_tick_and_event_fields() -> None:
    assert list(table("A tick")) == list(Tick.__struct_fields__)
    events = DOC.split("## What comes back: pattern events", 1)[1]
    documented = re.findall(r"^\| `(\w+)` \|", events.split("\n## ", 1)[0], re.M)
    assert documented == list(PatternEvent.__struct_fields__)
