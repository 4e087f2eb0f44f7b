"""sample-metrics: consumers' processed-tick counters, once a second, from their real /metrics."""

from __future__ import annotations

import itertools
import json
import threading
import time

from tickstockpl.endpoints import LiveState, serve
from tickstockpl.metrics import Metrics
from tickstockpl.sampler import counter, sample_metrics
from tickstockpl.signals import Shutdown


def test_counter_sums_labelled_samples_and_ignores_lookalikes() -> None:
    text = (
        "# TYPE tickstockpl_ticks_processed_total counter\n"
        "tickstockpl_ticks_processed_total 12.0\n"
        'tickstockpl_ticks_processed_total{mode="x"} 3\n'
        "tickstockpl_ticks_processed_total_created 1.7e9\n"
    )
    assert counter(text) == 15.0
    assert counter("other 1\n") is None


def test_samples_each_second_and_marks_an_unreachable_consumer(tmp_path) -> None:
    metrics = Metrics()
    server = serve("127.0.0.1", 0, LiveState(), metrics)
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    dead = "http://127.0.0.1:1/metrics"
    out = tmp_path / "samples.jsonl"
    shutdown = Shutdown()
    thread = threading.Thread(target=sample_metrics, args=([url, dead], str(out), shutdown))
    try:
        thread.start()
        for _ in range(5):
            metrics.ticks.inc(100)
            time.sleep(0.5)
    finally:
        shutdown.request("test")
        thread.join(5)
        server.shutdown()
        server.server_close()
    assert not thread.is_alive(), "sample-metrics did not stop on shutdown"
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert 2 <= len(lines) <= 4, lines  # about one a second over 2.5 s
    seen = [line["processed"][url] for line in lines]
    assert seen == sorted(seen) and seen[-1] >= 300, seen
    assert all(line["processed"][dead] is None for line in lines)
    assert all(b["t"] - a["t"] >= 0.9 for a, b in itertools.pairwise(lines))
