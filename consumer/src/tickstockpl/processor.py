"""Turn raw messages into a Batch: decode, validate, detect. No I/O here."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from tickstockpl import detectors as registry
from tickstockpl.effects import Batch
from tickstockpl.patterns import make_event
from tickstockpl.settings import Settings
from tickstockpl.ticks import Message, TickError, decode, payload, tick_digest, tick_identity

log = logging.getLogger(__name__)
E2E_SAMPLES = 64  # per batch: a histogram observe costs more than a decode


class Processor:
    def __init__(self, settings: Settings) -> None:
        self.detectors = registry.build(settings.detectors, settings)

    def process(self, items: Iterable[tuple[bytes | None, Message]]) -> Batch:
        """items: (stream entry id or None, JSON or an entry's fields). Never raises on bad input."""
        batch = Batch()
        detectors = self.detectors
        seen = batch.seen
        stamps: list[float] = []
        now = time.time()
        for entry_id, raw in items:
            try:
                tick = decode(raw)
            except TickError as exc:
                batch.dead.append((exc.reason, exc.detail, payload(raw), entry_id or b""))
                continue
            if tick.publisher is not None:
                seen[tick.publisher].append(tick.seq)  # type: ignore[arg-type]
            stamps.append(tick.timestamp)
            tick_id = digest = ""
            for detector in detectors:
                try:
                    finding = detector.observe(tick)
                except Exception as exc:  # a detector bug must not stop the consumer
                    log.exception("detector failed", extra={"ctx": {"detector": detector.name}})
                    batch.dead.append(("detector_error", repr(exc), payload(raw), entry_id or b""))
                    break
                if finding is not None:
                    if not digest:  # once per tick, and only for ticks with a finding
                        digest = tick_digest(tick)
                        tick_id = tick_identity(tick, digest)
                    batch.patterns.append(make_event(tick, tick_id, finding, now, digest))
            batch.valid += 1
        step = max(1, len(stamps) // E2E_SAMPLES)
        batch.tick_times = stamps[::step]
        return batch
