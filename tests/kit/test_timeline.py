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
    samples = [
        {"t": 100.1, "processed": {"a": 0, "b": 0}},
        {"t": 101.1, "processed": {"a": 900, "b": 100}},
        {"t": 102.1, "processed": {"a": 1900, "b": None}},  # b did not answer
        {"t": 103.1, "processed": {"a": 50, "b": 400}},  # a restarted: 50 since
    ]
    assert timeline.consumed_series(samples) == {100: 0, 101: 1000, 102: 1000, 103: 350}
    # A second host's file adds to the same seconds; its URLs are its own.
    other = [{"t": 101.5, "processed": {"a": 10}}, {"t": 102.5, "processed": {"a": 30}}]
    assert timeline.consumed_series(other, timeline.consumed_series(samples)) == {
        100: 0, 101: 1000, 102: 1020, 103: 350}


def test_renders_a_png_with_marks(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"confirmed_per_s": {str(1000 + s): (0 if 5 <= s < 8 else 1000) for s in range(15)}}))
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"t": 1000 + s, "processed": {"u": 1000 * s}}) + "\n" for s in range(15)))
    out = tmp_path / "run.png"
    assert timeline.main(["--summary", str(summary), "--samples", str(samples), "--out", str(out),
                          "--mark", "fault=1005", "--mark", "new master=1007.5", "--title", "kill"]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 400)
    assert len(data) > 10_000  # lines and labels, not an empty canvas
