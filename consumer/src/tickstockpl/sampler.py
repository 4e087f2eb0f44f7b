"""`sample-metrics`: one JSON line per second with each consumer's ticks-processed counter.

The drills plot consumed ticks per second from it (the per-second rise of the
sum). A counter that drops is a restarted instance: the plot counts its new
value from zero, never a negative rate.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Sequence

from tickstockpl.signals import Shutdown

PROCESSED = "tickstockpl_ticks_processed_total"
MAX_BODY = 1 << 20  # a /metrics page is a few kB; never read an unbounded reply


def counter(text: str, name: str = PROCESSED) -> float | None:
    """The sum of a metric's samples (over its labels) in Prometheus text format."""
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
            try:
                total += float(line.rsplit(maxsplit=1)[1])
                seen = True
            except (IndexError, ValueError):
                continue
    return total if seen else None


def _read(url: str, timeout: float) -> float | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return counter(reply.read(MAX_BODY).decode(errors="replace"))
    except (OSError, ValueError):
        return None


def sample_metrics(urls: Sequence[str], out_path: str, shutdown: Shutdown, interval: float = 1.0) -> int:
    with open(out_path, "a", encoding="utf-8") as out:
        while not shutdown.requested:
            started = time.time()
            values = {url: _read(url, min(0.5, interval / 2)) for url in urls}
            out.write(json.dumps({"t": round(started, 3), "processed": values}) + "\n")
            out.flush()
            shutdown.wait(max(0.0, interval - (time.time() - started)))
    return 0
