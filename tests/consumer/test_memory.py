"""Consumer memory stays bounded whatever the input."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# What the consumer's unit allows (roles: MemoryMax=512M); the bounds below are ours.
MEMORY_MAX = 512 << 20
# Documented in docs/interface.md (TICKSTOCKPL_MAX_TICKERS): detector state at the default cap.
TICKERS_RSS_BOUND = 160 << 20


def peak_rss(script: str) -> int:
    """Run script in a fresh interpreter; its peak RSS (VmHWM) in bytes."""
    code = textwrap.dedent(script) + textwrap.dedent("""
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                print(int(line.split()[1]) * 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    return int(out.stdout.split()[-1])


def test_a_million_distinct_tickers_stay_under_the_documented_bound() -> None:
    rss = peak_rss("""
        import json
        from tickstockpl.processor import Processor
        from tickstockpl.settings import Settings

        p = Processor(Settings.from_env({}))
        template = '{"event_type":"tick_data","ticker":"%s","price":1.5,"volume":10,'
        template += '"timestamp":1.7e9,"source":"synthetic","market_status":"REGULAR"}'
        batch = []
        for i in range(1_000_000):
            batch.append((None, (template % ("T%X" % i)).encode()))
            if len(batch) == 500:
                assert p.process(batch).valid == 500
                batch = []
        assert all(len(getattr(d, "_prev", getattr(d, "_windows", {}))) == 50_000 for d in p.detectors)
    """)
    print(f"peak RSS after 1,000,000 distinct tickers: {rss / 2**20:.0f} MiB")
    assert rss < TICKERS_RSS_BOUND < MEMORY_MAX
