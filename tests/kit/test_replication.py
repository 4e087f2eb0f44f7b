"""Deciding the current master from Sentinel answers and ROLE replies."""

from replication import AMBIGUOUS, current_master

ADDR = {"r1": "10.0.0.1", "r2": "10.0.0.2", "r3": "10.0.0.3"}


def sentinel(addr, rc=0):
    return {"rc": rc, "stdout_lines": [addr, "6379"] if addr else []}


def role(host, name):
    return {"item": host, "rc": 0, "stdout_lines": [name, "0"]}


def test_sentinel_majority_wins_over_roles():
    answers = [sentinel("10.0.0.2"), sentinel("10.0.0.2"), sentinel("10.0.0.1")]
    assert current_master(answers, [role("r1", "master")], ADDR, "10.0.0.1") == "10.0.0.2"


def test_failed_or_empty_sentinels_do_not_vote():
    answers = [sentinel("10.0.0.3", rc=1), sentinel(""), {"skipped": True}]
    assert current_master(answers, [role("r2", "master"), role("r1", "slave")], ADDR, "10.0.0.1") == "10.0.0.2"


def test_new_set_uses_the_bootstrap_master():
    assert current_master([sentinel("", rc=1)], [], ADDR, "10.0.0.1") == "10.0.0.1"


def test_two_masters_and_no_sentinel_is_ambiguous():
    roles = [role("r1", "master"), role("r2", "master")]
    assert current_master([], roles, ADDR, "10.0.0.1") == AMBIGUOUS


def test_module_replies():
    answers = [{"replies": [["10.0.0.3", "6379"]], "errors": [None]},
               {"replies": [None], "errors": ["connect: refused"]}]
    assert current_master(answers, [], ADDR, "10.0.0.1") == "10.0.0.3"
    roles = [{"item": "r2", "replies": [["master", 10, []]]}, {"item": "r1", "replies": [["slave", "10.0.0.2", 6379]]}]
    assert current_master([{"replies": [None]}], roles, ADDR, "10.0.0.1") == "10.0.0.2"
