"""Whether a drill passed, from the publisher's summary and the audit.

    tickstock_drill_verdict(audit, summary, max_gap_s, errors=[], audit_rc=None)
        -> {lost, duplicated, gap_s, in_stream, consumed, unconfirmed, errors, passed}

`audit` is what `tickstockpl audit` printed (JSON), `summary` the publisher's
summary.json, `errors` what the drill noted on the way (topology, drain,
isolated writes). The drill fails on any lost confirmed tick, any duplicated
pattern event, a longest client-visible gap over max_gap_s, an audit that
did not exit 0, or any noted error. A figure the audit or the publisher did
not give counts as a failure, never as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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


def verdict(
    audit: Mapping[str, Any] | None,
    summary: Mapping[str, Any] | None,
    max_gap_s: Any,
    errors: Sequence[str] | None = None,
    audit_rc: Any = None,
) -> dict[str, Any]:
    audit = audit or {}
    summary = summary or {}
    lost = count(audit.get("lost"))
    duplicated = count(audit.get("duplicated_patterns"))
    gap_raw = summary.get("longest_gap_s")
    gap = round(float(gap_raw), 3) if gap_raw is not None else MISSING_GAP_S
    limit = float(max_gap_s)
    found = list(errors or [])
    if lost != 0:
        found.append(f"{lost} confirmed tick(s) lost")
    if duplicated != 0:
        found.append(f"{duplicated} duplicated pattern event(s)")
    if gap > limit:
        found.append(f"client-visible gap {gap} s exceeds {limit} s")
    if audit_rc is None or int(audit_rc) != 0:
        found.append(f"tickstockpl audit exited {'-' if audit_rc is None else audit_rc}")
    return {
        "lost": lost,
        "duplicated": duplicated,
        "gap_s": gap,
        "in_stream": count(audit.get("in_stream"), None),
        "consumed": count(audit.get("consumed"), None),
        "unconfirmed": count(summary.get("unconfirmed_seqs"), 0),
        "errors": found,
        "passed": not found,
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"tickstock_drill_verdict": verdict}
