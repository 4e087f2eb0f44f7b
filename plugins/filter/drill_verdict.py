"""Whether a drill passed, from the publishers' summaries and their audits.

    tickstock_drill_verdict(audit, summary, max_gap_s, errors=[], audit_rc=None,
                            min_patterns=1, spec=None, pubsub=None, depths=None, depth_limit=0)
        -> {lost, duplicated, duplicated_tick_patterns, patterns_seen, loss_checked, gap_s,
            in_stream, consumed, unconfirmed, spec, pubsub, queue_depths, errors, passed}
    registered /metrics reads | tickstock_queue_depths(host) -> [{host, id, depth}]

`audit` is what `tickstockpl audit` printed (JSON) for the sequence-numbered
publisher, `summary` that publisher's summary.json, `audit_rc` the audit's exit
code. `spec`, when the drill ran a spec-format publisher too, is
{"audit": ..., "summary": ..., "rc": ...} for it, checked the same way; its
figures come back under `spec`. `pubsub` is the list tickstock_pubsub_gaps
made for the pub/sub consumer instances (plugins/filter/pubsub_gaps.py);
each comes back with `over_client_limit` (its gap over max_gap_s: reported,
not asserted).
`depths` are the stream instances' tickstockpl_queue_depth after the drain
(tickstock_queue_depths): each must be back to at most `depth_limit`.
`errors` is what the drill noted on the way (topology, drain, isolated writes).

A load fails on any lost confirmed tick (checked only when the audit says
`loss_checked`: spec-format ticks carry no seq, so their loss cannot be
checked), any pattern event seen twice (per pattern_id, or per tick and
pattern type), fewer than `min_patterns` pattern events recorded (a watcher
that saw nothing proves nothing about duplicates), a longest client-visible
gap over max_gap_s, or an audit that did not exit 0. The drill fails on a
failing load, a pub/sub instance that did not resume, or any noted error. A
figure the audit or the publisher did not give counts as a failure, never as
zero.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    # Ansible loads each filter file on its own; let this one see its siblings.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))

from status_tables import parse_metrics

DEPTH = "tickstockpl_queue_depth"

MISSING_GAP_S = 999.0


def count(value: Any, missing: int | None = -1) -> int | None:
    """A count the audit may give as a number or as the list itself."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return missing
    if isinstance(value, Iterable):
        return len(list(value))
    return missing


def load_verdict(
    audit: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None,
    limit: float,
    audit_rc: Any,
    min_patterns: int,
) -> tuple[dict[str, Any], list[str]]:
    """One publisher's figures and what failed, from its audit and summary."""
    audit = audit or {}
    summary = summary or {}
    # Only an audit that says so skips the loss check; a missing key means checked.
    loss_checked = audit.get("loss_checked", True) is not False
    lost = count(audit.get("lost")) if loss_checked else None
    duplicated = count(audit.get("duplicated_patterns"))
    duplicated_tick = count(audit.get("duplicated_tick_patterns"))
    seen = count(audit.get("patterns_seen"), None)
    gap_raw = summary.get("longest_gap_s")
    gap = round(float(gap_raw), 3) if gap_raw is not None else MISSING_GAP_S
    found = []
    if loss_checked and lost != 0:
        found.append(f"{lost} confirmed tick(s) lost")
    if duplicated != 0:
        found.append(f"{duplicated} duplicated pattern event(s) (same pattern_id)")
    if duplicated_tick != 0:
        found.append(f"{duplicated_tick} duplicated pattern event(s) (same tick and pattern type)")
    if seen is None or seen < min_patterns:
        found.append(
            f"the watcher recorded {'no count of' if seen is None else seen} pattern event(s), "
            f"fewer than {min_patterns}: duplicates not proven absent"
        )
    if gap > limit:
        found.append(f"client-visible gap {gap} s exceeds {limit} s")
    if audit_rc is None or int(audit_rc) != 0:
        found.append(f"tickstockpl audit exited {'-' if audit_rc is None else audit_rc}")
    figures = {
        "loss_checked": loss_checked,
        "lost": lost,
        "duplicated": duplicated,
        "duplicated_tick_patterns": duplicated_tick,
        "patterns_seen": seen,
        "gap_s": gap,
        "in_stream": count(audit.get("in_stream"), None),
        "consumed": count(audit.get("consumed"), None),
        "unconfirmed": count(summary.get("unconfirmed_seqs"), 0),
    }
    return figures, found


def pubsub_errors(pubsub: Sequence[Mapping[str, Any]]) -> list[str]:
    """A pub/sub instance that did not resume after the fault fails the drill."""
    found = []
    for inst in pubsub:
        if not inst.get("resumed"):
            found.append(
                f"pub/sub instance tickstockpl@{inst.get('id')} on {inst.get('host')} did not resume: "
                f"{inst.get('why') or 'no reason given'}"
            )
    return found


def queue_depths(results: Any, host: str) -> list[dict[str, Any]]:
    """{host, id, depth} of each stream instance from the registered /metrics reads (depth None: unread or NaN)."""
    out = []
    for r in (results or {}).get("results", []) if isinstance(results, Mapping) else []:
        if not isinstance(r, Mapping) or r.get("skipped"):
            continue
        value = parse_metrics(r.get("content", "")).get(DEPTH) if r.get("status") == 200 else None
        depth = None if value is None or math.isnan(value) else value
        out.append({"host": host, "id": (r.get("item") or {}).get("id"), "depth": depth})
    return out


def queue_depth_errors(depths: Sequence[Mapping[str, Any]], limit: Any) -> list[str]:
    """A stream instance whose queue depth is not back to about 0 after the drain fails the drill."""
    return [
        f"queue depth of tickstockpl@{d.get('id')} on {d.get('host')} is "
        f"{'unknown' if d.get('depth') is None else int(d['depth'])} after the drain (limit {limit})"
        for d in depths if d.get("depth") is None or float(d["depth"]) > float(limit)
    ]


def verdict(
    audit: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None,
    max_gap_s: Any,
    errors: Sequence[str] | None = None,
    audit_rc: Any = None,
    min_patterns: Any = 1,
    spec: Mapping[str, Any] | None = None,
    pubsub: Sequence[Mapping[str, Any]] | None = None,
    depths: Sequence[Mapping[str, Any]] | None = None,
    depth_limit: Any = 0,
) -> dict[str, Any]:
    limit = float(max_gap_s)
    least = int(min_patterns)
    found = list(errors or [])
    out, load_found = load_verdict(audit, summary, limit, audit_rc, least)
    found += load_found
    out["spec"] = None
    if spec is not None:
        spec_out, spec_found = load_verdict(spec.get("audit"), spec.get("summary"), limit, spec.get("rc"), least)
        out["spec"] = spec_out
        found += [f"spec-format load: {e}" for e in spec_found]
    # Reported, not asserted: pub/sub keeps nothing for a subscriber that is away.
    out["pubsub"] = [
        {**inst, "over_client_limit": inst.get("gap_s") is not None and float(inst["gap_s"]) > limit}
        for inst in pubsub or []
    ]
    found += pubsub_errors(out["pubsub"])
    out["queue_depths"] = list(depths or [])
    found += queue_depth_errors(out["queue_depths"], depth_limit)
    out["errors"] = found
    out["passed"] = not found
    return out


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_drill_verdict": verdict, "tickstock_queue_depths": queue_depths}
