"""End-to-end latency at 1000 ticks/s: publisher write -> consumer commit + ack.

Runs `tickstockpl publish --rate 1000` and a stream consumer, each in its own
process, against a throwaway redis-server. The consumer process records, per
tick, commit time minus the tick's timestamp (set when the publisher built
it). Prints p50/p99/max; no assertions.

    python bench/latency.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from _redis import redis_server


def consumer_role(out_path: str) -> None:
    from tickstockpl.connection import Connector
    from tickstockpl.settings import Settings
    from tickstockpl.signals import Shutdown
    from tickstockpl.ticks import decode
    from tickstockpl.worker import Fetched, Worker

    samples: list[float] = []

    class Timed(Worker):
        def _handle(self, fetched: Fetched) -> None:
            super()._handle(fetched)
            done = time.time()  # after commit and XACK
            samples.extend(done - decode(raw).timestamp for _id, raw in fetched.items)

    shutdown = Shutdown()
    shutdown.install()
    settings = Settings.from_env()
    Timed(settings, Connector(settings), shutdown).run()
    with open(out_path, "w") as f:
        json.dump(samples, f)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--role", default="main")
    p.add_argument("--out", default="")
    a = p.parse_args()
    if a.role == "consumer":
        consumer_role(a.out)
        return
    with redis_server() as port, tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port),
               "TICKSTOCKPL_HTTP_PORT": "0", "TICKSTOCKPL_LOG_LEVEL": "WARNING"}
        out = f"{d}/lat.json"
        consumer = subprocess.Popen([sys.executable, __file__, "--role", "consumer", "--out", out], env=env)
        time.sleep(1.0)
        subprocess.run([sys.executable, "-m", "tickstockpl", "publish", "--rate", "1000",
                        "--duration", str(a.seconds), "--publisher-id", "lat"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(30)
        with open(out) as f:
            lat = sorted(json.load(f))
    n = len(lat)
    print(json.dumps({
        "ticks": n,
        "p50_ms": round(lat[n // 2] * 1000, 3),
        "p99_ms": round(lat[int(n * 0.99)] * 1000, 3),
        "p90_ms": round(lat[int(n * 0.90)] * 1000, 3),
        "p95_ms": round(lat[int(n * 0.95)] * 1000, 3),
        "max_ms": round(lat[-1] * 1000, 3),
        "rate_per_s": 1000,
    }))


if __name__ == "__main__":
    main()
