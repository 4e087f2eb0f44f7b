"""Throughput of one stream consumer process vs the spec's own loop, same run.

Ours: the Worker with its stream source (XREADGROUP COUNT=batch, msgspec decode + validate,
detectors, one commit pipeline, XACK of the whole batch).
Spec: XREADGROUP count=10 + reading the fields + one XACK per entry.
Prints figures only; no assertions on time.

    python bench/consumer_throughput.py [--ticks 200000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import redis
from _redis import redis_server
from tickstockpl.connection import Connector
from tickstockpl.contract import CONTRACT
from tickstockpl.publisher import Publisher
from tickstockpl.settings import Settings
from tickstockpl.signals import Shutdown
from tickstockpl.worker import Worker

STREAM = CONTRACT.stream


def preload(port: int, n: int) -> None:
    """The publisher's own tick maker, in the producer's packed form, big pipelines (setup, not measured)."""
    r = redis.Redis(port=port)
    settings = Settings.from_env({"REDIS_PORT": str(port)})
    maker = Publisher(Connector(settings), settings, Shutdown(), "bench",
                      ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA"], 1e9, seed=3)  # only its tick maker is used
    for start in range(0, n, 2000):
        pipe = r.pipeline(transaction=False)
        now = time.time()
        for seq in range(start, min(n, start + 2000)):
            pipe.xadd(STREAM, maker.make(seq, now).fields)  # type: ignore[arg-type]
        pipe.execute()


def ours(env: dict[str, str], n: int, batch: int) -> float:
    settings = Settings.from_env({**env, "TICKSTOCKPL_BATCH_SIZE": str(batch), "TICKSTOCKPL_CONSUMER_ID": "b"})
    shutdown = Shutdown()
    consumer = Worker(settings, Connector(settings), shutdown)
    t = threading.Thread(target=consumer.run, daemon=True)
    started = time.perf_counter()
    t.start()
    while consumer.processed < n:
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    shutdown.request()
    t.join()
    return n / elapsed


def spec_loop(port: int, n: int) -> float:
    r = redis.Redis(port=port, decode_responses=True)
    r.xgroup_create(STREAM, "spec-group", id="0")
    done = 0
    started = time.perf_counter()
    while done < n:
        messages = r.xreadgroup("spec-group", "consumer-1", {STREAM: ">"}, count=10, block=1000)
        for _stream, entries in messages:
            for entry_id, fields in entries:
                # The packed form, as the producer writes it: numbers arrive as text.
                values = fields["tick"].split("|")
                _ = (values[1], float(values[2]), int(values[3]), float(values[4]))
                r.xack(STREAM, "spec-group", entry_id)
                done += 1
    return done / (time.perf_counter() - started)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ticks", type=int, default=200_000)
    p.add_argument("--spec-ticks", type=int, default=30_000)
    p.add_argument("--batch", type=int, default=1000)
    a = p.parse_args()
    with redis_server() as port:
        env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port), "TICKSTOCKPL_HTTP_PORT": "0"}
        t0 = time.perf_counter()
        preload(port, a.ticks)
        print(f"preloaded {a.ticks} ticks in {time.perf_counter() - t0:.2f} s")
        spec = spec_loop(port, a.spec_ticks)
        mine = ours(env, a.ticks, a.batch)
    print(json.dumps({
        "ours_ticks_per_s": round(mine),
        "spec_loop_ticks_per_s": round(spec),
        "ratio": round(mine / spec, 1),
        "batch": a.batch,
        "ticks": a.ticks,
    }))


if __name__ == "__main__":
    main()
