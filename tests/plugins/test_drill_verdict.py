from __future__ import annotations

from drill_verdict import count, queue_depth_errors, queue_depths, verdict

AUDIT = {
    "loss_checked": True, "lost": 0, "duplicated_patterns": 0, "duplicated_tick_patterns": 0,
    "patterns_seen": 40, "in_stream": 12000, "consumed": 12000, "ok": True,
}
SPEC_AUDIT = {
    "spec_format": True, "loss_checked": False, "lost": None, "confirmed": None, "in_stream": None,
    "consumed": None, "duplicated_patterns": 0, "duplicated_tick_patterns": 0, "patterns_seen": 40, "ok": True,
}
SPEC_SUMMARY = {"sent": 2400, "confirmed": 2400, "longest_gap_s": 3.1, "unconfirmed_seqs": [], "spec_format": True}
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
    assert v["errors"] == ["1 duplicated pattern event(s) (same pattern_id)"]


def test_duplicated_tick_patterns_fail() -> None:
    v = verdict({**AUDIT, "duplicated_tick_patterns": 2}, SUMMARY, 5.0, [], 0)
    assert v["duplicated_tick_patterns"] == 2
    assert v["errors"] == ["2 duplicated pattern event(s) (same tick and pattern type)"]


def test_gap_over_the_limit_fails_and_at_the_limit_passes() -> None:
    assert verdict(AUDIT, {**SUMMARY, "longest_gap_s": 5.0}, "5.0", [], 0)["passed"]
    v = verdict(AUDIT, {**SUMMARY, "longest_gap_s": 5.01}, 5.0, [], 0)
    assert v["errors"] == ["client-visible gap 5.01 s exceeds 5.0 s"]


def test_missing_figures_fail_never_pass() -> None:
    v = verdict({}, {}, 5.0, [], None)
    assert not v["passed"]
    assert v["lost"] == -1 and v["duplicated"] == -1 and v["gap_s"] == 999.0
    assert v["duplicated_tick_patterns"] == -1 and v["patterns_seen"] is None
    assert "tickstockpl audit exited -" in v["errors"]
    assert any("no count of pattern event(s)" in e for e in v["errors"])
    assert verdict(None, None, 5.0)["passed"] is False


def test_noted_errors_and_audit_exit_fail() -> None:
    v = verdict(AUDIT, SUMMARY, 5.0, ["cluster not whole"], 1)
    assert v["errors"] == ["cluster not whole", "tickstockpl audit exited 1"]


def test_count_reads_numbers_lists_and_text() -> None:
    assert count(3) == 3 and count("4") == 4 and count([1, 2]) == 2
    assert count(None) == -1 and count(None, None) is None and count("x") == -1


def test_a_watcher_that_saw_no_pattern_fails() -> None:
    v = verdict({**AUDIT, "patterns_seen": 0}, SUMMARY, 5.0, [], 0)
    assert not v["passed"]
    assert v["errors"] == ["the watcher recorded 0 pattern event(s), fewer than 1: duplicates not proven absent"]
    assert verdict({**AUDIT, "patterns_seen": 9}, SUMMARY, 5.0, [], 0, min_patterns=10)["passed"] is False
    assert verdict({**AUDIT, "patterns_seen": 10}, SUMMARY, 5.0, [], 0, min_patterns="10")["passed"] is True


def test_no_loss_check_when_the_audit_says_loss_was_not_checked() -> None:
    # A spec-format run: lost is null, which would otherwise count as a failure.
    v = verdict(SPEC_AUDIT, SPEC_SUMMARY, 5.0, [], 0)
    assert v["passed"] is True, v["errors"]
    assert v["loss_checked"] is False and v["lost"] is None
    assert v["in_stream"] is None and v["consumed"] is None
    # A missing loss_checked means checked: a missing lost is then a failure.
    v = verdict({k: x for k, x in SPEC_AUDIT.items() if k != "loss_checked"}, SPEC_SUMMARY, 5.0, [], 0)
    assert v["loss_checked"] is True and v["lost"] == -1
    assert "-1 confirmed tick(s) lost" in v["errors"]


def test_duplicates_still_fail_a_run_whose_loss_is_not_checked() -> None:
    v = verdict({**SPEC_AUDIT, "duplicated_tick_patterns": 1}, SPEC_SUMMARY, 5.0, [], 1)
    assert v["errors"] == [
        "1 duplicated pattern event(s) (same tick and pattern type)", "tickstockpl audit exited 1",
    ]


def test_the_spec_format_load_is_checked_and_reported_apart() -> None:
    spec = {"audit": SPEC_AUDIT, "summary": SPEC_SUMMARY, "rc": 0}
    v = verdict(AUDIT, SUMMARY, 5.0, [], 0, 1, spec)
    assert v["passed"] is True
    assert v["spec"]["loss_checked"] is False and v["spec"]["gap_s"] == 3.1
    assert v["lost"] == 0  # the main load's loss is still checked
    bad = {
        "audit": {**SPEC_AUDIT, "duplicated_tick_patterns": 3},
        "summary": {**SPEC_SUMMARY, "longest_gap_s": 6},
        "rc": 1,
    }
    v = verdict(AUDIT, SUMMARY, 5.0, [], 0, 1, bad)
    assert v["errors"] == [
        "spec-format load: 3 duplicated pattern event(s) (same tick and pattern type)",
        "spec-format load: client-visible gap 6.0 s exceeds 5.0 s",
        "spec-format load: tickstockpl audit exited 1",
    ]
    # A spec load whose audit never ran fails, it does not pass silently.
    v = verdict(AUDIT, SUMMARY, 5.0, [], 0, 1, {"audit": None, "summary": None, "rc": None})
    assert not v["passed"] and v["spec"]["lost"] == -1


def test_a_pubsub_instance_that_did_not_resume_fails() -> None:
    ok = {"host": "c1", "id": 101, "resumed": True, "gap_s": 3.2}
    stuck = {"host": "c1", "id": 102, "resumed": False, "why": "its last /metrics scrape failed"}
    assert verdict(AUDIT, SUMMARY, 5.0, [], 0, 1, None, [ok])["passed"] is True
    v = verdict(AUDIT, SUMMARY, 5.0, [], 0, 1, None, [ok, stuck])
    assert v["pubsub"] == [{**ok, "over_client_limit": False}, {**stuck, "over_client_limit": False}]
    assert v["errors"] == ["pub/sub instance tickstockpl@102 on c1 did not resume: its last /metrics scrape failed"]


def test_a_pubsub_gap_over_the_client_limit_is_reported_not_failed() -> None:
    slow = {"host": "c1", "id": 101, "resumed": True, "gap_s": 20.8}
    v = verdict(AUDIT, SUMMARY, 7.0, [], 0, 1, None, [slow, {**slow, "id": 102, "gap_s": 7.0}])
    assert v["passed"] is True
    assert [p["over_client_limit"] for p in v["pubsub"]] == [True, False]


def test_queue_depths_after_the_drain() -> None:
    def read(ident: int, body: str, status: int = 200) -> dict[str, object]:
        return {"item": {"id": ident, "mode": "stream"}, "status": status, "content": body}

    results = {"results": [
        read(1, "tickstockpl_queue_depth 0.0\n"),
        read(2, "tickstockpl_queue_depth 4200.0\n"),
        read(3, "tickstockpl_queue_depth NaN\n"),
        read(4, "", status=-1),
        {"skipped": True, "item": {"id": 101}},
    ]}
    depths = queue_depths(results, "c1")
    assert depths == [{"host": "c1", "id": 1, "depth": 0.0}, {"host": "c1", "id": 2, "depth": 4200.0},
                      {"host": "c1", "id": 3, "depth": None}, {"host": "c1", "id": 4, "depth": None}]
    errors = queue_depth_errors(depths, 100)
    assert errors == [
        "queue depth of tickstockpl@2 on c1 is 4200 after the drain (limit 100)",
        "queue depth of tickstockpl@3 on c1 is unknown after the drain (limit 100)",
        "queue depth of tickstockpl@4 on c1 is unknown after the drain (limit 100)",
    ]
    assert queue_depth_errors(depths[:1], 100) == []
