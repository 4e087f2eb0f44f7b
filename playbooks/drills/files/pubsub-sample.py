#!/usr/bin/python3
"""Scrape the /metrics of consumer instances until SIGTERM (drills: pub/sub instances).

    pubsub-sample.py --out FILE --interval S --max-s S [--timeout S] --metric NAME... ID:PORT...

Writes one JSON line per scrape: {"t": epoch s, "id": ID, "lines": [the
sample lines of the named metrics]} or {"t", "id", "error"}. It only
records; plugins/filter/pubsub_gaps.py reads the lines and decides. Standard
library only, so it runs with the host's python3.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import urllib.request
from types import FrameType

STOP: list[bool] = []


def _stop(signum: int, frame: FrameType | None) -> None:
    STOP.append(True)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--max-s", type=float, default=1800.0)
    p.add_argument("--host", default="127.0.0.1")
    # Generous: a scrape given up half-way leaves a BrokenPipeError traceback in the consumer's log.
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--metric", action="append", required=True)
    p.add_argument("targets", nargs="+", help="ID:PORT")
    args = p.parse_args()
    targets = [(int(i), int(port)) for i, port in (t.split(":", 1) for t in args.targets)]
    names = tuple(args.metric)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    deadline = time.monotonic() + args.max_s
    with open(args.out, "a", buffering=1) as out:
        while not STOP and time.monotonic() < deadline:
            began = time.monotonic()
            for ident, port in targets:
                row: dict[str, object] = {"id": ident}
                try:
                    url = f"http://{args.host}:{port}/metrics"
                    with urllib.request.urlopen(url, timeout=args.timeout) as resp:
                        text = resp.read().decode("utf-8", "replace")
                    row["lines"] = [
                        line for line in text.splitlines()
                        if not line.startswith("#") and line.split("{", 1)[0].split(" ", 1)[0] in names
                    ]
                except (OSError, ValueError) as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                row["t"] = round(time.time(), 3)
                out.write(json.dumps(row) + "\n")
            time.sleep(max(0.0, args.interval - (time.monotonic() - began)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
