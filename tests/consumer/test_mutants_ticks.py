"""A fields-form entry whose field *name* is not UTF-8 is dead-lettered, not a crash (found by bench/mutation)."""

from __future__ import annotations

import json

import pytest
from tickstockpl.processor import Processor
from tickstockpl.settings import Settings
from tickstockpl.ticks import TickError, decode, payload
from workers import good

FIELDS = {
    b"event_type": b"tick_data", b"ticker": b"AAPL", b"price": b"150.25", b"volume": b"1000",
    b"timestamp": b"1693123456.789", b"source": b"massive", b"market_status": b"REGULAR",
}


def test_a_field_name_not_utf8_is_an_invalid_tick_with_a_readable_payload() -> None:
    bad = {**FIELDS, b"exch\xffange": b"XNAS"}
    with pytest.raises(TickError) as err:
        decode(bad)
    assert err.value.reason == "invalid_tick" and "UTF-8" in err.value.detail
    assert json.loads(payload(bad)) == {**{k.decode(): v.decode() for k, v in FIELDS.items()}, "exch\ufffdange": "XNAS"}


def test_the_processor_dead_letters_it_and_goes_on() -> None:
    bad = {**FIELDS, b"\xfe": b"\xff"}
    batch = Processor(Settings.from_env({"TICKSTOCKPL_DETECTORS": "none"})).process(
        [(b"1-0", bad), (b"1-1", good(1))])
    assert batch.valid == 1
    assert [(reason, entry_id) for reason, _detail, _raw, entry_id in batch.dead] == [("invalid_tick", b"1-0")]
    assert json.loads(batch.dead[0][2])["\ufffd"] == "\ufffd"
