"""`audit`: did every confirmed tick get consumed, and no pattern go out twice?

Inputs: the publisher's summary JSON (which seqs were confirmed) and, if
given, the JSON-lines file written by `watch-patterns`.

- confirmed: seqs first_seq..last_seq minus unconfirmed_seqs
- consumed: confirmed seqs whose bit is set in the seen-window of the
  publisher (stream consumers set it before acking; seen.py)
- in_stream: confirmed seqs still present in the stream (either entry form)
- lost: confirmed but not consumed, after waiting up to --wait seconds for
  consumers to drain
- duplicated_patterns: pattern events beyond the first per pattern_id
- duplicated_tick_patterns: pattern events beyond the first per (tick,
  pattern_type), the tick named by its content digest: catches a tick that
  got two pattern_ids (an identity that changed on re-send)
- patterns_seen below --min-patterns fails too: a watcher that recorded
  nothing proves nothing about duplicates.

A spec-format run (`publish --spec-format`) has no seqs in its ticks, so its
loss is not checked here (`loss_checked` false, `lost` null); the duplicate
checks are what such a run is for.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import msgspec

from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.seen import marked
from tickstockpl.ticks import DATA_FIELD, TickError, decode


class _Ident(msgspec.Struct):
    publisher: str | None = None
    seq: int | None = None


def confirmed_seqs(summary: dict[str, Any]) -> list[int]:
    first, last = summary.get("first_seq"), summary.get("last_seq")
    if first is None or last is None:
        return []
    unconfirmed = set(summary.get("unconfirmed_seqs") or [])
    return [q for q in range(int(first), int(last) + 1) if q not in unconfirmed]


def consumed_of(connector: Connector, publisher: str, seqs: list[int]) -> set[int]:
    return marked(connector.client, CONTRACT.seen_prefix, publisher, seqs)


def in_stream_of(connector: Connector, stream: str, publisher: str, wanted: set[int]) -> set[int]:
    decoder = msgspec.json.Decoder(_Ident)
    client = connector.client
    found: set[int] = set()
    start: bytes | str = "-"
    while True:
        rows: Any = client.xrange(stream, min=start, max="+", count=5000)
        for _id, fields in rows:
            data = fields.get(DATA_FIELD)
            if data is None:  # the packed or the fields form
                try:
                    tick = decode(fields)
                except TickError:
                    continue
                if tick.publisher == publisher and tick.seq in wanted:
                    found.add(tick.seq)
                continue
            try:
                ident = decoder.decode(data)
            except msgspec.MsgspecError:
                continue
            if ident.publisher == publisher and ident.seq in wanted:
                found.add(ident.seq)
        if len(rows) < 5000:
            return found
        start = b"(" + rows[-1][0]


def duplicated_patterns(path: str) -> dict[str, int]:
    """Events read, and events beyond the first per pattern_id and per (tick, pattern_type)."""
    by_id: Counter[str] = Counter()
    by_tick: Counter[tuple[str, str]] = Counter()
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
                pid = event.get("pattern_id")
            except (ValueError, AttributeError):
                continue
            if not pid:
                continue
            by_id[pid] += 1
            # Events from before tick_digest existed: fall back to tick_id, then pattern_id.
            tick = event.get("tick_digest") or event.get("tick_id") or pid
            by_tick[(str(tick), str(event.get("pattern_type")))] += 1
    return {
        "patterns_seen": sum(by_id.values()),
        "duplicated_patterns": sum(n - 1 for n in by_id.values() if n > 1),
        "duplicated_tick_patterns": sum(n - 1 for n in by_tick.values() if n > 1),
    }


def audit(
    connector: Connector,
    stream: str,
    summary_path: str,
    patterns_log: str | None,
    wait_s: float,
    min_patterns: int = 1,
) -> dict[str, Any]:
    with open(summary_path) as f:
        summary = json.load(f)
    publisher = str(summary["publisher_id"])
    spec_format = bool(summary.get("spec_format"))
    verdict: dict[str, Any] = {
        "publisher_id": publisher,
        "spec_format": spec_format,
        "loss_checked": not spec_format,
        "confirmed": None,
        "in_stream": None,
        "consumed": None,
        "lost": None,
        "lost_seqs": [],
        "lost_not_in_stream": None,
        "unconfirmed": len(summary.get("unconfirmed_seqs") or []),
        "patterns_seen": None,
        "min_patterns": min_patterns if patterns_log else None,
        "duplicated_patterns": 0,
        "duplicated_tick_patterns": 0,
        "longest_gap_s": summary.get("longest_gap_s"),
    }
    if not spec_format:
        confirmed = confirmed_seqs(summary)
        deadline = time.monotonic() + wait_s
        while True:
            consumed = consumed_of(connector, publisher, confirmed)
            if len(consumed) == len(confirmed) or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        lost = [q for q in confirmed if q not in consumed]
        in_stream = in_stream_of(connector, stream, publisher, set(confirmed))
        verdict.update(
            confirmed=len(confirmed), in_stream=len(in_stream), consumed=len(consumed), lost=len(lost),
            lost_seqs=lost[:100], lost_not_in_stream=len([q for q in lost if q not in in_stream]),
        )
    failures: list[str] = []
    if verdict["lost"]:
        failures.append("lost")
    if patterns_log:
        verdict.update(duplicated_patterns(patterns_log))
        if verdict["duplicated_patterns"] or verdict["duplicated_tick_patterns"]:
            failures.append("duplicated_patterns")
        if verdict["patterns_seen"] < min_patterns:
            failures.append("too_few_patterns")
    verdict["failures"] = failures
    verdict["ok"] = not failures
    return verdict
