"""Consumer memory stays bounded whatever the tickers: a million distinct ones, on real Redis."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from servers import TICKSTOCKPL, Proc, subprocess_env, wait_until
from tickstockpl.contract import CONTRACT

STREAM, GROUP = CONTRACT.stream, CONTRACT.group
MEMORY_MAX = 512 << 20  # the consumer unit's MemoryMax=512M
# Documented in docs/interface.md (TICKSTOCKPL_MAX_TICKERS): peak RSS at the default cap.
TICKERS_RSS_BOUND = 160 << 20
TICKS = 1_000_000


def test_a_million_distinct_tickers_stay_under_the_documented_bound(own_redis: Proc) -> None:
    server = own_redis
    r = server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    template = ('{"event_type":"tick_data","ticker":"T%X","price":1.5,"volume":10,'
                '"timestamp":1.7e9,"source":"synthetic","market_status":"REGULAR"}')
    for start in range(0, TICKS, 10_000):
        pipe = r.pipeline(transaction=False)
        for i in range(start, start + 10_000):
            pipe.xadd(STREAM, {"data": template % i})
        pipe.execute()
    env = {"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port), "TICKSTOCKPL_HTTP_PORT": "0",
           "TICKSTOCKPL_BATCH_SIZE": "1000"}
    proc = subprocess.Popen([*TICKSTOCKPL, "consume"], env=subprocess_env(env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    try:
        wait_until(lambda: r.xinfo_groups(STREAM)[0]["lag"] == 0 and r.xpending(STREAM, GROUP)["pending"] == 0,
                   400, "a million ticks consumed", step=0.5)
        took = time.monotonic() - started
        status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        peak = next(int(x.split()[1]) * 1024 for x in status if x.startswith("VmHWM:"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert r.xlen(CONTRACT.dead_letter_stream) == 0
    print(f"1,000,000 distinct tickers consumed in {took:.0f} s, peak RSS {peak / 2**20:.0f} MiB")
    assert peak < TICKERS_RSS_BOUND < MEMORY_MAX, f"peak RSS {peak / 2**20:.0f} MiB"
