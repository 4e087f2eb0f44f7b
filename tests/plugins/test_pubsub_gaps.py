from __future__ import annotations

import json

from pubsub_gaps import pubsub_gaps, read_samples

INSTANCES = [
    {"id": 101, "mode": "pubsub", "tickers": ["AAPL", "MSFT"], "port": 8200},
    {"id": 102, "mode": "pubsub", "tickers": [], "port": 8201},
]


def scrape(t: float, ident: int, ticks: float | None, connected: int = 1) -> str:
    if ticks is None:
        return json.dumps({"t": t, "id": ident, "error": "URLError: refused"})
    lines = [f"tickstockpl_ticks_processed_total {ticks}", f"tickstockpl_connected {connected}.0"]
    return json.dumps({"t": t, "id": ident, "lines": lines})


def run(rows: list[str], since: float | None = 105.0, instances: list[dict[str, object]] | None = None) -> list[dict]:
    return pubsub_gaps("\n".join(rows) + "\n", instances or INSTANCES[:1], "c1", since, 1.0)


def steady(start: float, end: float, ident: int = 101, first: float = 0.0, step: float = 0.5) -> list[str]:
    out, t, n = [], start, first
    while t <= end + 1e-9:
        out.append(scrape(round(t, 3), ident, n))
        t += step
        n += 100
    return out


def test_the_longest_stall_is_the_gap_and_the_instance_resumed() -> None:
    rows = [*steady(100.0, 103.0), scrape(103.5, 101, 600), scrape(104.0, 101, 600), scrape(106.0, 101, 600)]
    rows += steady(106.5, 110.0, first=700)
    [r] = run(rows)
    # The counter last rose at 103.0 (to 600) and next at 106.5 (to 700).
    assert r["gap_s"] == 3.5 and r["gap_from"] == 103.0
    assert r["resumed"] is True and r["why"] == ""
    assert r["ticks_first"] == 0 and r["ticks_last"] == 1400
    assert r["host"] == "c1" and r["tickers"] == ["AAPL", "MSFT"] and r["port"] == 8200
    assert r["resolution_s"] == 0.5


def test_failed_scrapes_count_as_silence_not_as_a_reset() -> None:
    rows = [*steady(100.0, 102.0), scrape(102.5, 101, None), scrape(103.0, 101, None)]
    rows += [scrape(103.5, 101, 500), *steady(104.0, 108.0, first=600)]
    [r] = run(rows, since=None)
    assert r["scrape_errors"] == 2
    assert r["gap_s"] == 1.5  # 102.0 .. 103.5
    assert r["resumed"] is True


def test_a_restarted_instance_counter_that_falls_counts_as_rising() -> None:
    rows = steady(100.0, 102.0, first=5000) + steady(102.5, 108.0, first=100)
    [r] = run(rows)
    assert r["gap_s"] == 0.5 and r["resumed"] is True


def test_no_rise_after_the_new_master_is_not_resumed() -> None:
    rows = steady(100.0, 104.0) + [scrape(t, 101, 800) for t in (104.5, 105.0, 106.0, 108.0)]
    [r] = run(rows)
    assert r["resumed"] is False
    assert "did not rise after the new master" in r["why"]
    assert r["gap_s"] == 4.0  # from the last rise (104.0) to the end (108.0)


def test_stopping_before_the_end_or_disconnected_is_not_resumed() -> None:
    rows = [*steady(100.0, 107.0), scrape(108.0, 101, 1400), scrape(109.5, 101, 1400)]
    [r] = run(rows)
    assert r["resumed"] is False and "stopped rising 2.5 s before the end" in r["why"]
    rows = [*steady(100.0, 107.0)[:-1], scrape(107.0, 101, 1400, connected=0)]
    [r] = run(rows)
    assert r["resumed"] is False and r["why"] == "tickstockpl_connected is 0.0 at the end"
    rows = [*steady(100.0, 107.0), scrape(107.2, 101, None)]
    [r] = run(rows)
    assert r["why"] == "its last /metrics scrape failed"


def test_an_instance_never_scraped_is_reported_not_resumed() -> None:
    out = run(steady(100.0, 108.0), instances=INSTANCES)
    assert [r["id"] for r in out] == [101, 102]
    assert out[0]["resumed"] is True
    assert out[1]["resumed"] is False and out[1]["samples"] == 0 and out[1]["gap_s"] is None
    assert "too few" in out[1]["why"]
    assert pubsub_gaps("", INSTANCES, "c1")[0]["resumed"] is False


def test_garbage_lines_are_skipped_and_labels_summed() -> None:
    text = "not json\n" + json.dumps({"t": "x", "id": 1}) + "\n" + json.dumps(
        {"t": 1.0, "id": 7, "lines": [
            'tickstockpl_ticks_processed_total{a="1"} 2', 'tickstockpl_ticks_processed_total{a="2"} 3',
        ]}
    )
    assert read_samples(text) == {7: [{"t": 1.0, "ticks": 5.0, "connected": None}]}
