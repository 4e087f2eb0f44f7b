"""How each pub/sub consumer instance came through a drill, from its /metrics samples.

    tickstock_pubsub_gaps(samples, instances, host, since=None, tail_s=2.0)
        -> [{host, id, tickers, port, samples, scrape_errors, ticks_first, ticks_last,
             gap_s, gap_from, resolution_s, rose_after_since, connected_last, resumed, why}]

`samples` is the JSON-lines file playbooks/drills/files/pubsub-sample.py wrote
on `host` (one line per scrape: {"t": epoch s, "id": N, "lines": [metric
lines]} or {"t", "id", "error"}); `instances` the pub/sub entries of the
role's local fact tickstockpl ([{id, mode, tickers, port}]). `since` is when
the drill's new master was named (epoch s, the hosts' clock), None when there
is no single moment (rolling restart).

- gap_s: the longest time between two scrapes that saw
  tickstockpl_ticks_processed_total rise, counting the start and the end of
  the sampling as such points (so an instance that stops receiving shows a gap
  to the end). It is measured to within one sampling interval (resolution_s).
  A counter that falls (the instance restarted) and is above 0 counts as risen.
- resumed: the counter rose after `since`, rose within the last tail_s of the
  sampling, and the last scrape answered with tickstockpl_connected 1. `why`
  says what was missing.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from status_tables import metric, parse_metrics

TICKS = "tickstockpl_ticks_processed_total"
CONNECTED = "tickstockpl_connected"


def read_samples(samples: Any) -> dict[int, list[dict[str, Any]]]:
    """Scrapes per instance id, in time order: {t, ticks (None: no answer), connected}."""
    out: dict[int, list[dict[str, Any]]] = {}
    for line in str(samples or "").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
            t = float(row["t"])
            ident = int(row["id"])
        except (ValueError, KeyError, TypeError):
            continue
        ticks: float | None = None
        connected: float | None = None
        if not row.get("error"):
            values = parse_metrics("\n".join(str(x) for x in row.get("lines") or []))
            ticks = metric(values, TICKS)
            connected = metric(values, CONNECTED)
        out.setdefault(ident, []).append({"t": t, "ticks": ticks, "connected": connected})
    for rows in out.values():
        rows.sort(key=lambda r: r["t"])
    return out


def instance_figures(
    rows: Sequence[Mapping[str, Any]], since: float | None, tail_s: float
) -> dict[str, Any]:
    answered = [r for r in rows if r["ticks"] is not None]
    figures: dict[str, Any] = {
        "samples": len(rows),
        "scrape_errors": len(rows) - len(answered),
        "ticks_first": answered[0]["ticks"] if answered else None,
        "ticks_last": answered[-1]["ticks"] if answered else None,
        "gap_s": None,
        "gap_from": None,
        "resolution_s": None,
        "rose_after_since": False,
        "connected_last": None,
        "resumed": False,
    }
    if len(rows) < 2:
        figures["why"] = f"{len(rows)} scrape(s) of its /metrics: too few to tell"
        return figures
    times = [float(r["t"]) for r in rows]
    figures["resolution_s"] = round(median(b - a for a, b in itertools.pairwise(times)), 3)
    rises = [times[0]]
    prev: float | None = None
    for r in rows:
        value = r["ticks"]
        if value is not None:
            if prev is not None and (value > prev or (value < prev and value > 0)):
                rises.append(float(r["t"]))
            prev = value
    last_rise = rises[-1] if len(rises) > 1 else None
    rises.append(times[-1])
    gap, start = max((b - a, a) for a, b in itertools.pairwise(rises))
    figures["gap_s"] = round(gap, 3)
    figures["gap_from"] = round(start, 3)
    figures["rose_after_since"] = last_rise is not None and (since is None or last_rise > since)
    last = rows[-1]
    figures["connected_last"] = last["connected"]
    why = []
    if not figures["rose_after_since"]:
        why.append("its ticks counter did not rise after the new master was named")
    elif last_rise is not None and last_rise < times[-1] - tail_s:
        why.append(f"its ticks counter stopped rising {round(times[-1] - last_rise, 1)} s before the end")
    if last["ticks"] is None:
        why.append("its last /metrics scrape failed")
    elif last["connected"] != 1:
        why.append(f"{CONNECTED} is {last['connected']} at the end")
    figures["resumed"] = not why
    figures["why"] = "; ".join(why)
    return figures


def pubsub_gaps(
    samples: Any,
    instances: Sequence[Mapping[str, Any]],
    host: str,
    since: Any = None,
    tail_s: Any = 2.0,
) -> list[dict[str, Any]]:
    by_id = read_samples(samples)
    when = None if since in (None, "") else float(since)
    out = []
    for inst in instances:
        ident = int(inst["id"])
        row = {
            "host": host,
            "id": ident,
            "tickers": list(inst.get("tickers") or []),
            "port": inst.get("port"),
        }
        row.update(instance_figures(by_id.get(ident, []), when, float(tail_s)))
        out.append(row)
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_pubsub_gaps": pubsub_gaps}
