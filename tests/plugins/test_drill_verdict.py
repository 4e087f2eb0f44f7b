from __future__ import annotations

from drill_verdict import count, verdict

AUDIT = {"lost": 0, "duplicated_patterns": 0, "in_stream": 12000, "consumed": 12000, "ok": True}
SUMMARY = {"sent": 12000, "confirmed": 12000, "longest_gap_s": 3.4567, "unconfirmed_seqs": [7, 8]}


def test_a_clean_run_passes() -> None:
    v = verdict(AUDIT, SUMMARY, 5.0, [], 0)
    assert v["passed"] is True
    assert v["errors"] == []
    assert (v["lost"], v["duplicated"], v["gap_s"], v["unconfirmed"]) == (0, 0, 3.457, 2)
    assert (v["in_stream"], v["consumed"]) == (12000, 12000)


def test_lost_ticks_fail() -> None:
    v = verdict({**AUDIT, "lost": [1, 2, 3]}, SUMMARY, 5.0, [], 0)
    assert not v["passed"] and v["lost"] == 3
    assert "3 confirmed tick(s) lost" in v["errors"]


def test_duplicated_patterns_fail() -> None:
    v = verdict({**AUDIT, "duplicated_patterns": 1}, SUMMARY, 5.0, [], 0)
    assert v["errors"] == ["1 duplicated pattern event(s)"]


def test_gap_over_the_limit_fails_and_at_the_limit_passes() -> None:
    assert verdict(AUDIT, {**SUMMARY, "longest_gap_s": 5.0}, "5.0", [], 0)["passed"]
    v = verdict(AUDIT, {**SUMMARY, "longest_gap_s": 5.01}, 5.0, [], 0)
    assert v["errors"] == ["client-visible gap 5.01 s exceeds 5.0 s"]


def test_missing_figures_fail_never_pass() -> None:
    v = verdict({}, {}, 5.0, [], None)
    assert not v["passed"]
    assert v["lost"] == -1 and v["duplicated"] == -1 and v["gap_s"] == 999.0
    assert "tickstockpl audit exited -" in v["errors"]
    assert verdict(None, None, 5.0)["passed"] is False


def test_noted_errors_and_audit_exit_fail() -> None:
    v = verdict(AUDIT, SUMMARY, 5.0, ["cluster not whole"], 1)
    assert v["errors"] == ["cluster not whole", "tickstockpl audit exited 1"]


def test_count_reads_numbers_lists_and_text() -> None:
    assert count(3) == 3 and count("4") == 4 and count([1, 2]) == 2
    assert count(None) == -1 and count(None, None) is None and count("x") == -1
