"""The stream's three entry forms on a real redis-server: memory, a mixed stream, dead letters, audit, age trim."""

from __future__ import annotations

import json
import random

from servers import Proc
from tickstockpl.audit import consumed_of, in_stream_of
from tickstockpl.producer import TickProducer
from tickstockpl.ticks import DATA_FIELD, Tick, to_fields, to_packed
from workers import DEAD_LETTER_STREAM, GROUP, STREAM, Running, good

# The spec's figure: about 1 MB per 10,000 messages. For these ticks the data form
# takes 1.70 MB, the fields form 0.81 MB, the packed form (the producer's) 0.85 MB
# (bench/stream_memory.py); MEMORY USAGE with SAMPLES 0 counts every node, so the
# figure is exact, not a timing.
SPEC_BOUND = 1_000_000
# Stamped with a 23-character publisher id: 2.61 MB as data, 1.14 MB as fields, 1.06 MB packed.
STAMPED_BOUND = 1_150_000


def seed_ticks(n: int) -> list[Tick]:
    rng = random.Random(1)
    return [
        Tick(event_type="tick_data", ticker=("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA")[i % 5],
             price=round(100 + rng.random() * 100, 2), volume=rng.randint(100, 10_000),
             timestamp=round(1693123456.789 + i / 1000, 3), source="massive", market_status="REGULAR")
        for i in range(n)
    ]


def test_ten_thousand_ticks_fit_the_specs_memory_figure(redis_server: Proc) -> None:
    r = redis_server.client()
    r.flushall()
    ticks = seed_ticks(10_000)
    for stream, publisher in (("spec", None), ("stamped", "tickstock-a1-1693123000")):
        producer = TickProducer(r, publisher, stream=stream, wait_replicas=0, publish_channels=False)
        for start in range(0, len(ticks), 1000):
            producer.send(ticks[start:start + 1000])
        assert r.xlen(stream) == 10_000
    spec, stamped = r.memory_usage("spec", samples=0), r.memory_usage("stamped", samples=0)
    print("bytes per 10k ticks: spec", spec, "stamped", stamped)
    assert spec is not None and spec <= SPEC_BOUND
    assert stamped is not None and stamped <= STAMPED_BOUND


def test_mixed_stream_every_form_consumed_bad_ones_dead_lettered(
    redis_env: dict[str, str], redis_server: Proc
) -> None:
    """A rolling change: data entries (older producers), fields entries and packed ones (this producer), interleaved."""
    r = redis_server.client()
    for seq in range(9):
        if seq % 3 == 1:  # the producer stamps seq itself
            producer = TickProducer(r, "manual", wait_replicas=0, publish_channels=False, first_seq=seq)
            producer.send([json.loads(good(0))])
        elif seq % 3 == 2:
            r.xadd(STREAM, to_fields(Tick("tick_data", "AAPL", 1.0, 1, 1.7e9, "synthetic", "REGULAR", "manual", seq)))
        else:
            r.xadd(STREAM, {DATA_FIELD: good(seq)})
    ninth = Tick("tick_data", "AAPL", 1.0, 1, 1.7e9, "synthetic", "REGULAR", "manual", 9)
    r.xadd(STREAM, {**to_fields(ninth), b"volume": b"lots"})
    r.xadd(STREAM, {b"tick": to_packed(ninth)[b"tick"].replace(b"|1|", b"|lots|")})
    r.xadd(STREAM, {b"other": b"neither form"})
    (second,) = r.xrange(STREAM, count=2)[1][1].items()  # packed on the server: one field
    assert second[0] == b"tick" and second[1].startswith(b"tick_data|") and second[1].endswith(b"|manual|1")
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1")
    w.wait(lambda: w.consumer.processed == 9 and r.xlen(DEAD_LETTER_STREAM) == 3)
    w.stop()
    assert consumed_of(w.consumer.conn, "manual", list(range(10))) == set(range(9))
    assert r.xpending(STREAM, GROUP)["pending"] == 0
    dead = [f for _id, f in r.xrange(DEAD_LETTER_STREAM)]
    assert [d[b"reason"] for d in dead] == [b"invalid_tick", b"invalid_tick", b"missing_data_field"]
    assert b"volume" in dead[0][b"detail"] and b"volume" in dead[1][b"detail"]
    assert json.loads(dead[0][b"payload"])["volume"] == "lots"  # the entry's fields, for whoever looks
    assert "|lots|" in json.loads(dead[1][b"payload"])["tick"]
    assert json.loads(dead[2][b"payload"]) == {"other": "neither form"}
    assert in_stream_of(w.consumer.conn, STREAM, "manual", set(range(10))) == set(range(9))


def test_packed_entry_delivered_too_often_goes_to_dead_letter(redis_env: dict[str, str], redis_server: Proc) -> None:
    r = redis_server.client()
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    TickProducer(r, "manual", wait_replicas=0, publish_channels=False).send([json.loads(good(0))])
    (poison, _), = r.xrange(STREAM)
    r.xreadgroup(GROUP, "c1", {STREAM: ">"})
    for _ in range(3):
        r.xclaim(STREAM, GROUP, "c1", 0, [poison])
    w = Running(redis_env, TICKSTOCKPL_CONSUMER_ID="c1", TICKSTOCKPL_MAX_DELIVERIES="3")
    w.wait(lambda: r.xlen(DEAD_LETTER_STREAM) == 1)
    w.stop()
    (_, dead), = r.xrange(DEAD_LETTER_STREAM)
    assert (dead[b"reason"], dead[b"entry_id"]) == (b"max_deliveries", poison)
    assert json.loads(dead[b"payload"])["tick"].endswith("|manual|0") and w.consumer.processed == 0


def test_max_age_trims_old_entries_and_maxlen_still_caps(redis_server: Proc) -> None:
    r = redis_server.client()
    r.flushall()
    for i in range(1, 301):  # ids from 1970: far older than any age
        r.xadd(STREAM, {DATA_FIELD: good(i)}, id=f"{i}-0")
    tick = json.loads(good(0))
    TickProducer(r, "p", wait_replicas=0, publish_channels=False).send([tick])
    assert r.xlen(STREAM) == 301  # by count only (the default): nothing old goes
    TickProducer(r, "p", wait_replicas=0, publish_channels=False, max_age_s=3600).send([tick])
    # Approximate: only whole nodes go, so the node holding the first new entry may keep a few old ones.
    left = [int(i.split(b"-")[0]) for i, _ in r.xrange(STREAM)]
    assert len([ms for ms in left if ms < 1e12]) < 100
    assert len([ms for ms in left if ms > 1e12]) == 2
    TickProducer(r, "p", maxlen=1, wait_replicas=0, publish_channels=False, max_age_s=3600).send([tick] * 300)
    assert r.xlen(STREAM) < 200  # MAXLEN ~ still applies beside the age
