"""`audit`: did every confirmed tick get consumed, and no pattern go out twice?

Inputs: the publisher's summary JSON (which seqs were confirmed) and, if
given, the JSON-lines file written by `watch-patterns`.

- confirmed: seqs first_seq..last_seq minus unconfirmed_seqs
- consumed: confirmed seqs whose bit is set in tickstockpl:seen:{publisher}
  (consumers set it before acking)
- in_stream: confirmed seqs still present in the stream
- lost: confirmed but not consumed, after waiting up to --wait seconds for
  consumers to drain
- duplicated_patterns: pattern events beyond the first for a pattern_id
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import msgspec

from tickstockpl.connection import Connector
from tickstockpl.settings import SEEN_KEY_PREFIX


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
    raw: Any = connector.client.get(SEEN_KEY_PREFIX + publisher)
    bitmap = bytes(raw or b"")
    out = set()
    for q in seqs:
        byte = q >> 3
        if byte < len(bitmap) and bitmap[byte] >> (7 - (q & 7)) & 1:
            out.add(q)
    return out


def in_stream_of(connector: Connector, publisher: str, wanted: set[int]) -> set[int]:
    decoder = msgspec.json.Decoder(_Ident)
    client = connector.client
    stream = connector.settings.stream
    found: set[int] = set()
    start: bytes | str = "-"
    while True:
        rows: Any = client.xrange(stream, min=start, max="+", count=5000)
        for _id, fields in rows:
            data = fields.get(b"data")
            if data is None:
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


def duplicated_patterns(path: str) -> tuple[int, int]:
    """(events read, events beyond the first per pattern_id)."""
    counts: Counter[str] = Counter()
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                pid = json.loads(line).get("pattern_id")
            except (ValueError, AttributeError):
                continue
            if pid:
                counts[pid] += 1
    return sum(counts.values()), sum(n - 1 for n in counts.values() if n > 1)


def audit(
    connector: Connector, summary_path: str, patterns_log: str | None, wait_s: float
) -> dict[str, Any]:
    with open(summary_path) as f:
        summary = json.load(f)
    publisher = str(summary["publisher_id"])
    confirmed = confirmed_seqs(summary)
    deadline = time.monotonic() + wait_s
    while True:
        consumed = consumed_of(connector, publisher, confirmed)
        if len(consumed) == len(confirmed) or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    lost = [q for q in confirmed if q not in consumed]
    in_stream = in_stream_of(connector, publisher, set(confirmed))
    verdict: dict[str, Any] = {
        "publisher_id": publisher,
        "confirmed": len(confirmed),
        "in_stream": len(in_stream),
        "consumed": len(consumed),
        "lost": len(lost),
        "lost_seqs": lost[:100],
        "lost_not_in_stream": len([q for q in lost if q not in in_stream]),
        "unconfirmed": len(summary.get("unconfirmed_seqs") or []),
        "duplicated_patterns": 0,
        "patterns_seen": None,
        "longest_gap_s": summary.get("longest_gap_s"),
    }
    if patterns_log:
        seen, dups = duplicated_patterns(patterns_log)
        verdict["patterns_seen"] = seen
        verdict["duplicated_patterns"] = dups
    verdict["ok"] = verdict["lost"] == 0 and verdict["duplicated_patterns"] == 0
    return verdict
