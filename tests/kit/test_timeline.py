"""The drill report's picture (playbooks/drills/files/timeline.py)."""

import importlib.util
import json
import struct
from pathlib import Path

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("timeline", ROOT / "playbooks" / "drills" / "files" / "timeline.py")
assert _spec and _spec.loader
timeline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(timeline)


def test_consumed_counts_rises_and_survives_a_restart() -> None:
    def row(t: float, ident: int, value: float | None) -> dict[str, object]:
        if value is None:
            return {"t": t, "id": ident, "error": "URLError: refused"}
        return {"t": t, "id": ident, "lines": [f"tickstockpl_ticks_processed_total {value}",
                                               "tickstockpl_ticks_processed_created 1.7e9"]}

    samples = [
        row(100.1, 1, 0), row(100.1, 2, 0),
        row(101.1, 1, 900), row(101.1, 2, 100),
        row(102.1, 1, 1900), row(102.1, 2, None),  # 2 did not answer
        row(103.1, 1, 50), row(103.1, 2, 400),  # 1 restarted: 50 since
    ]
    assert timeline.consumed_series(samples) == {100: 0, 101: 1000, 102: 1000, 103: 350}
    # A second host's file adds to the same seconds; its ids are its own.
    other = [row(101.5, 1, 10), row(102.5, 1, 30)]
    assert timeline.consumed_series(other, timeline.consumed_series(samples)) == {
        100: 0, 101: 1000, 102: 1020, 103: 350}


def test_renders_a_png_with_marks(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    per_s = {str(1000 + s): (0 if 5 <= s < 8 else 1000) for s in range(15)}
    summary.write_text(json.dumps({"publisher_summary": {"confirmed_per_s": per_s}}))
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(
        json.dumps({"t": 1000 + s, "id": 1, "lines": [f"tickstockpl_ticks_processed_total {1000 * s}"]}) + "\n"
        for s in range(15)))
    out = tmp_path / "run.png"
    assert timeline.main(["--summary", str(summary), "--samples", str(samples), "--out", str(out),
                          "--mark", "fault=1005", "--mark", "new master=1007.5", "--title", "kill"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 400)
    assert len(data) > 10_000  # lines and labels, not an empty canvas


def test_confirmed_counts_every_publisher_and_consumed_only_the_group(tmp_path: Path) -> None:
    report = {
        "publisher_summary": {"confirmed_per_s": {"100": 1000, "101": 1000}},
        "spec_format": {"publisher_summary": {"confirmed_per_s": {"100": 200}}},
        "pubsub_instances": [{"host": "c1", "id": 101}, {"host": "c2", "id": 1}],
    }
    assert timeline.confirmed_series(report) == {100: 1200, 101: 1000}
    rows = [{"t": 100 + s, "id": i, "lines": [f"tickstockpl_ticks_processed_total {v * s}"]}
            for s in range(3) for i, v in ((1, 1200), (101, 400))]
    assert timeline.consumed_series(rows, skip=timeline.pubsub_ids(report, "c1")) == {100: 0, 101: 1200, 102: 1200}
    path = tmp_path / "run.samples-c1.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "run.json").write_text(json.dumps(report))
    assert timeline.main(["--summary", str(tmp_path / "run.json"), "--samples", str(path),
                          "--out", str(tmp_path / "run.png")]) == 0
