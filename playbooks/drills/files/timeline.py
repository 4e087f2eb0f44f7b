#!/usr/bin/env python3
"""The drill report's picture: confirmed writes and consumed ticks per second, with the events marked.

    timeline.py --summary report.json --samples host1.jsonl [--samples host2.jsonl ...] --out run.png \
        [--mark "fault=<epoch s>" --mark "new master=<epoch s>" ...] [--title TEXT]

--summary is the drill report (its publisher_summary) or the publisher's own
summary (confirmed_per_s); each samples file is what files/pubsub-sample.py
wrote on one consumer host (every instance's /metrics lines). Runs on the
control node, in the kit's venv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The kit's one Prometheus text parser (plugins/filter/status_tables.py).
_FILTERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 3, "plugins", "filter")
if _FILTERS not in sys.path:
    sys.path.append(_FILTERS)

from status_tables import parse_metrics  # noqa: E402

PROCESSED = "tickstockpl_ticks_processed_total"


def confirmed_series(report: Mapping[str, Any]) -> dict[int, int]:
    """Confirmed ticks per second of every publisher of the run (a report), or of one summary."""
    summaries = [report.get("publisher_summary"), (report.get("spec_format") or {}).get("publisher_summary")]
    out: dict[int, int] = {}
    for summary in [s for s in summaries if isinstance(s, Mapping)] or [report]:
        for second, n in (summary.get("confirmed_per_s") or {}).items():
            out[int(second)] = out.get(int(second), 0) + int(n)
    return out


def pubsub_ids(report: Mapping[str, Any], host: str) -> set[Any]:
    """The pub/sub instances of a host: they see ticks too, but are not the consumer group."""
    return {i.get("id") for i in report.get("pubsub_instances") or [] if i.get("host") == host}


def processed(lines: Iterable[str]) -> float | None:
    """The ticks-processed counter in a scrape's sample lines (summed over labels)."""
    value = parse_metrics("\n".join(lines)).get(PROCESSED)
    return None if value is None else float(value)


def consumed_series(samples: Iterable[Mapping[str, Any]], out: dict[int, float] | None = None,
                    skip: set[Any] | frozenset[Any] = frozenset()) -> dict[int, float]:
    """Ticks consumed per second: the rise of each consumer's counter, summed (into `out`).

    A counter that falls restarted from zero, so its new value is what it
    consumed since; a consumer that did not answer adds nothing until it does.
    One call per host's file: instance ids are unique only within a host.
    """
    out = {} if out is None else out
    last: dict[Any, float] = {}
    for sample in samples:
        if sample.get("id") in skip:
            continue
        value = None if sample.get("error") else processed(sample.get("lines") or [])
        if value is None:
            continue
        ident, second = sample.get("id"), int(float(sample["t"]))
        rise = value - last[ident] if ident in last and value >= last[ident] else (value if ident in last else 0.0)
        last[ident] = value
        out[second] = out.get(second, 0.0) + rise
    return out


def render(confirmed: Mapping[int, int], consumed: Mapping[int, float], marks: Sequence[tuple[str, float]],
           out: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    seconds = sorted(set(confirmed) | set(consumed))
    if not seconds:
        raise SystemExit("timeline.py: no data (no confirmed ticks and no samples)")
    start = seconds[0]
    xs = list(range(seconds[0], seconds[-1] + 1))
    fig, ax = plt.subplots(figsize=(10, 4), dpi=100)
    ax.plot([x - start for x in xs], [confirmed.get(x, 0) for x in xs], label="confirmed writes/s (every publisher)",
            color="#1f77b4",
            drawstyle="steps-post")
    ax.plot([x - start for x in xs], [consumed.get(x, 0) for x in xs], label="consumed ticks/s (the stream group)",
            color="#2ca02c",
            linestyle="--", drawstyle="steps-post")
    for (label, at), color in zip(marks, ["#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#7f7f7f"], strict=False):
        ax.axvline(at - start, color=color, linewidth=1)
        ax.annotate(label, (at - start, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top",
                    ha="right", fontsize=8, color=color)
    ax.set_xlabel(f"seconds since {start} (epoch)")
    ax.set_ylabel("ticks per second")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)


def _mark(text: str) -> tuple[str, float]:
    label, sep, at = text.rpartition("=")
    if not sep or not label:
        raise argparse.ArgumentTypeError(f"--mark {text!r}: give label=<epoch seconds>")
    return label, float(at)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--summary", required=True)
    p.add_argument("--samples", action="append", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--mark", type=_mark, action="append", default=[])
    p.add_argument("--title", default="drill")
    args = p.parse_args(argv)
    with open(args.summary, encoding="utf-8") as f:
        summary = json.load(f)
    consumed: dict[int, float] = {}
    for path in args.samples:
        # <report>.samples-<host>.jsonl, as report.yml names them
        host = path.rsplit(".samples-", 1)[-1].removesuffix(".jsonl")
        with open(path, encoding="utf-8") as f:
            consumed_series((json.loads(line) for line in f if line.strip()), consumed, pubsub_ids(summary, host))
    render(confirmed_series(summary), consumed, args.mark, args.out, args.title)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
