"""Redis memory per 10,000 ticks in the stream, both entry forms, on a real redis-server.

Writes 10,000 ticks per case to its own stream and asks MEMORY USAGE (SAMPLES 0:
every node counted). Cases: spec-format ticks (the spec's example fields, no
publisher/seq) and stamped ticks (publisher id of 23 characters, seq), each in
the data form (one field `data` with the tick's JSON), the fields form (one
stream field per tick field) and the packed form (one field `tick`, the values
joined: what the producer writes). The spec's figure is about 1 MB per 10,000.
Prints JSON; no assertions.

    python bench/stream_memory.py
"""

from __future__ import annotations

import json
import random

import redis
from _redis import redis_server
from tickstockpl.producer import TickProducer
from tickstockpl.ticks import DATA_FIELD, Tick, decode, to_fields

TICKS = 10_000
TICKERS = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA")


def seed_ticks(n: int, rng: random.Random) -> list[Tick]:
    """The spec's example tick with moving prices, volumes and millisecond timestamps."""
    return [
        Tick(event_type="tick_data", ticker=TICKERS[i % len(TICKERS)], price=round(100 + rng.random() * 100, 2),
             volume=rng.randint(100, 10_000), timestamp=round(1693123456.789 + i / 1000, 3),
             source="massive", market_status="REGULAR")
        for i in range(n)
    ]


def usage(r: redis.Redis, stream: str, ticks: list[Tick], publisher: str | None, form: str) -> int:
    producer = TickProducer(r, publisher, stream=stream, wait_replicas=0, publish_channels=False)
    stamped = [producer.stamp(t) for t in ticks]
    for start in range(0, len(stamped), 1000):
        batch = stamped[start:start + 1000]
        if form == "packed":
            producer.confirm(batch)
        else:
            pipe = r.pipeline(transaction=False)
            for b in batch:
                pipe.xadd(stream, {DATA_FIELD: b.data} if form == "data" else to_fields(decode(b.fields)))
            pipe.execute()
    return int(r.memory_usage(stream, samples=0) or 0)


def main() -> None:
    out: dict[str, int] = {}
    with redis_server() as port:
        r = redis.Redis(port=port)
        for kind, publisher in (("spec", None), ("stamped", "tickstock-a1-1693123000")):
            for form in ("data", "fields", "packed"):
                ticks = seed_ticks(TICKS, random.Random(1))
                out[f"{kind}_{form}_bytes_per_10k"] = usage(r, f"{kind}-{form}", ticks, publisher, form)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
