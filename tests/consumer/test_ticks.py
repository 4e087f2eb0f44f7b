"""Every validation rule of the tick decoder, plus fuzzing."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tickstockpl.ticks import (
    Tick,
    TickError,
    decode,
    encode,
    payload,
    tick_digest,
    tick_identity,
    to_fields,
    to_packed,
)

GOOD: dict[str, Any] = {
    "event_type": "tick_data",
    "ticker": "AAPL",
    "price": 150.25,
    "volume": 1000,
    "timestamp": 1693123456.789,
    "source": "massive",
    "market_status": "REGULAR",
}


def with_(**changes: Any) -> bytes:
    d = dict(GOOD)
    for k, v in changes.items():
        if v is ...:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d).encode()


def test_spec_example_decodes() -> None:
    tick = decode(json.dumps(GOOD).encode())
    assert (tick.ticker, tick.price, tick.volume, tick.source) == ("AAPL", 150.25, 1000, "massive")
    assert decode(encode(tick)) == tick


@pytest.mark.parametrize("source", ["polygon", "synthetic", "tickstock_pl", "massive"])
def test_sources_accepted(source: str) -> None:
    assert decode(with_(source=source)).source == source


@pytest.mark.parametrize("status", ["REGULAR", "PRE", "AFTER", "CLOSED"])
def test_market_status_accepted(status: str) -> None:
    assert decode(with_(market_status=status)).market_status == status


def test_extra_fields_allowed_and_int_price() -> None:
    tick = decode(with_(price=150, exchange="XNAS", publisher="p-1", seq=7))
    assert tick.price == 150.0 and tick.publisher == "p-1" and tick.seq == 7


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"event_type": "pattern_detected"}, "event_type"),
        ({"event_type": ...}, "event_type"),
        ({"ticker": "aapl"}, "ticker"),
        ({"ticker": ""}, "ticker"),
        ({"ticker": "TOOLONGTICKERNAME1"}, "ticker"),
        ({"ticker": 42}, "ticker"),
        ({"price": -0.01}, "price"),
        ({"price": "150.25"}, "price"),
        ({"price": 2e9}, "price"),
        ({"price": None}, "price"),
        ({"volume": -1}, "volume"),
        ({"volume": 10.5}, "volume"),
        ({"volume": True}, "volume"),
        ({"volume": "100"}, "volume"),
        ({"timestamp": "2023-08-27T10:00:00"}, "timestamp"),
        ({"timestamp": 1693123456789}, "timestamp"),  # milliseconds, not seconds
        ({"timestamp": 0}, "timestamp"),
        ({"source": "bloomberg"}, "source"),
        ({"market_status": "regular"}, "market_status"),
        ({"market_status": "OPEN"}, "market_status"),
        ({"publisher": "p1"}, "together"),
        ({"seq": 5}, "together"),
        ({"publisher": "p1", "seq": -1}, "seq"),
        ({"publisher": "p1", "seq": 2**32}, "seq"),
        ({"publisher": "has space", "seq": 1}, "publisher"),
    ],
)
def test_invalid_field_rejected(changes: dict[str, Any], where: str) -> None:
    with pytest.raises(TickError) as err:
        decode(with_(**changes))
    assert err.value.reason == "invalid_tick"
    assert where in err.value.detail


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1,2]", b"{", b"\xff\xfe", b"null", b'"tick"'])
def test_not_a_tick_object(raw: bytes) -> None:
    with pytest.raises(TickError):
        decode(raw)


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [(b"", "invalid_json", "truncated"), (b"not json", "invalid_json", "malformed"),
     (b"[1,2]", "invalid_tick", "object"), (b"null", "invalid_tick", "object"),
     ("\ud800", "invalid_json", "UnicodeEncodeError"), (5, "invalid_json", "TypeError")],
)
def test_reason_and_detail(raw: Any, reason: str, detail: str) -> None:
    with pytest.raises(TickError) as err:
        decode(raw)
    assert (err.value.reason, str(err.value)) == (reason, f"{reason}: {err.value.detail}")
    assert detail in err.value.detail


def test_overflowing_price_rejected() -> None:
    # json.dumps would write Infinity; a feed can still send 1e999 literally.
    with pytest.raises(TickError) as err:
        decode(with_(price=1.5).replace(b"1.5", b"1e999"))
    assert "price" in err.value.detail


def test_deep_nesting_is_a_tick_error() -> None:
    with pytest.raises(TickError):
        decode(b"[" * 100_000 + b"]" * 100_000)


def test_identity_prefers_publisher_seq() -> None:
    tick = decode(with_(publisher="p1", seq=9))
    assert tick_identity(tick) == "p1:9"
    # Same publisher/seq, other content: still the same tick (a re-send is trusted by seq).
    assert tick_identity(decode(with_(publisher="p1", seq=9, price=1.0))) == "p1:9"


def test_identity_without_seq_is_the_content_not_the_bytes() -> None:
    plain = decode(with_())
    assert tick_identity(plain).startswith("digest:")
    # The same tick re-serialised (key order, spacing, 150 vs 150.0) keeps its identity.
    reordered = json.dumps(dict(reversed(list(GOOD.items()))), indent=2).encode()
    assert tick_identity(decode(reordered)) == tick_identity(plain)
    assert tick_identity(decode(with_(price=150))) == tick_identity(decode(with_(price=150.0)))
    assert tick_identity(decode(with_(exchange="XNAS"))) == tick_identity(plain)  # extras are not content
    # Any change of a field is another tick.
    for change in ({"price": 150.26}, {"volume": 1001}, {"timestamp": 1693123456.79}, {"ticker": "MSFT"},
                   {"source": "polygon"}, {"market_status": "PRE"}):
        assert tick_identity(decode(with_(**change))) != tick_identity(plain), change
    assert tick_digest(plain) == tick_identity(plain).removeprefix("digest:")
    assert re.fullmatch(r"[0-9a-f]{24}", tick_digest(plain))  # 96 bits: collisions only by identical content
    assert tick_identity(plain, "given") == "digest:given"


def fields_of(**changes: Any) -> dict[bytes, bytes]:
    """GOOD in the stream's fields form, with changes (... drops a field)."""
    d = {k: str(v) for k, v in GOOD.items()}
    d.update({k: str(v) for k, v in changes.items() if v is not ...})
    return {k.encode(): v.encode() for k, v in d.items() if changes.get(k, 0) is not ...}


def test_fields_form_round_trip_and_same_identity_as_json() -> None:
    plain = decode(with_())
    assert to_fields(plain) == fields_of()  # spec order, numbers as text, no publisher/seq
    assert decode(to_fields(plain)) == plain
    stamped = decode(with_(publisher="p1", seq=9, price=150))
    assert to_fields(stamped)[b"seq"] == b"9" and to_fields(stamped)[b"price"] == b"150.0"
    assert decode(to_fields(stamped)) == stamped
    # A tick re-sent in the other form (a producer upgraded meanwhile) is the same tick.
    assert tick_identity(decode(fields_of())) == tick_identity(plain)
    assert tick_digest(decode(fields_of(price="150.250"))) == tick_digest(plain)
    assert decode(fields_of(exchange="XNAS")) == plain  # extra fields are ignored, as in JSON


@pytest.mark.parametrize(
    ("changes", "where"),
    [({"event_type": "pattern_detected"}, "event_type"), ({"ticker": "aapl"}, "ticker"),
     ({"price": "-0.01"}, "price"), ({"price": "abc"}, "price"), ({"price": "nan"}, "price"),
     ({"price": "1e999"}, "price"), ({"price": ""}, "price"), ({"volume": "10.5"}, "volume"),
     ({"volume": "true"}, "volume"), ({"timestamp": "1693123456789"}, "timestamp"), ({"timestamp": ...}, "timestamp"),
     ({"source": "bloomberg"}, "source"), ({"publisher": "p1"}, "together"),
     ({"publisher": "p1", "seq": "4294967296"}, "seq")],
)
def test_fields_form_obeys_the_same_rules(changes: dict[str, Any], where: str) -> None:
    with pytest.raises(TickError) as err:
        decode(fields_of(**changes))
    assert err.value.reason == "invalid_tick" and where in err.value.detail


def test_fields_form_not_utf8_and_its_dead_letter_payload() -> None:
    bad = {**fields_of(), b"ticker": b"\xff"}
    with pytest.raises(TickError) as err:
        decode(bad)
    assert err.value.reason == "invalid_tick" and "UTF-8" in err.value.detail
    assert json.loads(payload(bad))["ticker"] == "\ufffd" and json.loads(payload(bad))["volume"] == "1000"
    assert payload(b"{raw") == b"{raw"


def test_packed_form_round_trip_and_same_identity_as_json_and_fields() -> None:
    plain = decode(with_())
    assert to_packed(plain) == {b"tick": b"tick_data|AAPL|150.25|1000|1693123456.789|massive|REGULAR"}
    assert decode(to_packed(plain)) == plain
    stamped = decode(with_(publisher="p1", seq=9, price=150))
    assert to_packed(stamped)[b"tick"].endswith(b"|150.0|1000|1693123456.789|massive|REGULAR|p1|9")
    assert decode(to_packed(stamped)) == stamped
    assert [to_packed(t)[b"tick"].split(b"|") for t in (plain, stamped)] == [
        list(to_fields(t).values()) for t in (plain, stamped)]  # the fields form's values, in its order
    assert tick_identity(decode(to_packed(plain))) == tick_identity(plain) == tick_identity(decode(fields_of()))


@pytest.mark.parametrize(
    ("packed", "where"),
    [(b"tick_data|AAPL|150.25|1000|1693123456.789|massive", "7 or 9 values, not 6"),
     (b"tick_data|AAPL|150.25|1000|1693123456.789|massive|REGULAR|p1", "7 or 9 values, not 8"),
     (b"tick_data|AAPL|150.25|1000|1693123456.789|massive|REGULAR|p1|9|x", "7 or 9 values, not 10"),
     (b"tick_data|AAPL|150.25|lots|1693123456.789|massive|REGULAR", "volume"),
     (b"tick_data|AAPL|-0.01|1000|1693123456.789|massive|REGULAR", "`$.price`"),  # Tick's rules, by name
     (b"tick_data|AAPL|150.25|1000|1693123456789|massive|REGULAR", "`$.timestamp`"),
     (b"pattern_detected|AAPL|150.25|1000|1693123456.789|massive|REGULAR", "`$.event_type`"),
     (b"tick_data|AA|PL|1000|1693123456.789|massive|REGULAR", "price"),  # a value cannot hold the separator
     (b"tick_data|\xff|150.25|1000|1693123456.789|massive|REGULAR", "UTF-8"),
     (b"tick_data|AAPL|150.25|1000|1693123456.789|massive|REGULAR|p 1|9", "publisher"),
     (b"", "not 1")],
)
def test_packed_form_obeys_the_same_rules(packed: bytes, where: str) -> None:
    with pytest.raises(TickError) as err:
        decode({b"tick": packed})
    assert err.value.reason == "invalid_tick" and where in err.value.detail
    assert json.loads(payload({b"tick": packed}))["tick"] == packed.decode(errors="replace")


def test_a_tick_field_beside_others_is_not_the_packed_form() -> None:
    with pytest.raises(TickError) as err:
        decode({b"tick": to_packed(decode(with_()))[b"tick"], b"ticker": b"AAPL"})
    assert "event_type" in err.value.detail  # read as the fields form, which lacks it


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_bytes_only_tick_error(raw: bytes) -> None:
    with contextlib.suppress(TickError):
        assert isinstance(decode(raw), Tick)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["tick_data", "AAPL", "1", "1.5", "1e999", "nan", "-1", "", "massive", "REGULAR",
                                 "p1", "4294967296", "\u00e9", "|"]), max_size=11) | st.binary(max_size=120))
def test_fuzz_packed_only_tick_error(values: list[str] | bytes) -> None:
    raw = values if isinstance(values, bytes) else "|".join(values).encode()
    with contextlib.suppress(TickError):
        assert isinstance(decode({b"tick": raw}), Tick)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from([*list(GOOD), "publisher", "seq", "x"]), json_values))
def test_fuzz_fields_only_tick_error(fields: dict[str, Any]) -> None:
    merged = {**GOOD, **fields}
    raw = json.dumps(merged).encode()
    try:
        tick = decode(raw)
    except TickError:
        return
    # Whatever got through obeys the rules.
    assert tick.ticker == tick.ticker.upper() and tick.price >= 0 and tick.volume >= 0
    assert 0 < tick.timestamp < 1e11


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*list(GOOD), "publisher", "seq", "x"]), st.binary(max_size=12)))
def test_fuzz_entry_fields_only_tick_error(changes: dict[str, bytes]) -> None:
    fields = {**fields_of(), **{k.encode(): v for k, v in changes.items()}}
    try:
        tick = decode(fields)
    except TickError:
        return
    assert tick.ticker == tick.ticker.upper() and 0 <= tick.price <= 1e9 and tick.volume >= 0
    assert 0 < tick.timestamp < 1e11
