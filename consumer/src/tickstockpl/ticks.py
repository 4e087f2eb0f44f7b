"""Where a tick gets validated: the Tick type, its decoder and its identity.

Validation is declarative (msgspec constraints), not hand checks. `decode`
raises only TickError, whatever the bytes.

The rules are documented in docs/interface.md (a tick). `source` accepts
polygon, synthetic, tickstock_pl and massive: TickStock's own examples use
massive as well.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Ticker = Annotated[str, Meta(pattern=r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")]
# Upper bounds keep out 1e999 (inf) and absurd values; JSON has no NaN.
Price = Annotated[float, Meta(ge=0, le=1e9)]
Volume = Annotated[int, Meta(ge=0, le=2**53)]
# Unix seconds. The upper bound rejects milliseconds sent by mistake (1.7e12).
Timestamp = Annotated[float, Meta(gt=0, lt=1e11)]
Source = Literal["polygon", "synthetic", "tickstock_pl", "massive"]
MarketStatus = Literal["REGULAR", "PRE", "AFTER", "CLOSED"]
# Publisher ids end up in key names, so keep them tame.
PublisherId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
# seq is a bit offset in the seen-bitmap: Redis allows offsets below 2**32.
Seq = Annotated[int, Meta(ge=0, lt=2**32)]


class TickError(Exception):
    """A message that is not a valid tick. `reason` is short and stable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Tick(msgspec.Struct, gc=False, omit_defaults=True):
    """A tick_data message. Unknown extra fields are ignored; unset extras are not encoded."""

    event_type: Literal["tick_data"]
    ticker: Ticker
    price: Price
    volume: Volume
    timestamp: Timestamp
    source: Source
    market_status: MarketStatus
    # Extras set by our publisher so consumers can dedupe and find gaps.
    publisher: PublisherId | None = None
    seq: Seq | None = None

    def __post_init__(self) -> None:
        if (self.publisher is None) != (self.seq is None):
            raise ValueError("publisher and seq must be given together")


# A stream entry holds a tick in one of three forms (docs/interface.md, "Stream entries").
# Packed, what TickProducer writes: one field `tick`, the values in field order joined
# by "|", which no valid string value holds (the rules above), numbers as text. Fields:
# one stream field per tick field. Redis stores a node's field names once, so both cost
# half the JSON form (bench/stream_memory.py); packed is one value to parse instead of
# nine: a batch decodes three times as fast, the consumer runs 1.6 times as fast.
# Data: one field `data` with the tick's JSON.
DATA_FIELD = b"data"
FORM_FIELD = b"event_type"  # an entry with this field and no `data` is in the fields form
PACKED_FIELD = b"tick"  # an entry with this field alone is in the packed form
PACKED_SEP = "|"
_NAMES = Tick.__struct_fields__
_PACKED_LENGTHS = (len(_NAMES) - 2, len(_NAMES))  # without or with publisher/seq
# Tick's fields and rules, read by position: half the cost of building a dict per tick.
_PackedTick = msgspec.defstruct(
    "_PackedTick",
    [(f.name, f.type) if f.required else (f.name, f.type, f.default) for f in msgspec.structs.fields(Tick)],
    array_like=True, gc=False,
)
_AT_INDEX = re.compile(r"`\$\[(\d+)\]`")
# What a source hands over: JSON bytes (pub/sub, `data`) or an entry's own fields.
Message = bytes | Mapping[bytes, bytes]

_decoder = msgspec.json.Decoder(Tick)
_encoder = msgspec.json.Encoder()


def decode(raw: bytes | str | Mapping[bytes, bytes]) -> Tick:
    """Decode and validate one message; raise TickError on any problem."""
    if type(raw) is dict or isinstance(raw, Mapping):  # redis-py's dict skips the ABC check
        return _decode_fields(raw)
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise TickError("invalid_tick", str(exc)) from None
    except msgspec.DecodeError as exc:
        raise TickError("invalid_json", str(exc)) from None
    except (RecursionError, MemoryError, UnicodeError, TypeError) as exc:
        raise TickError("invalid_json", type(exc).__name__) from None


def _decode_fields(fields: Mapping[bytes, bytes]) -> Tick:
    if len(fields) == 1 and PACKED_FIELD in fields:
        return _decode_packed(fields[PACKED_FIELD])
    try:
        # map/zip run in C: this is the hot loop of the fields form.
        text = dict(zip(map(bytes.decode, fields), map(bytes.decode, fields.values()), strict=True))
    except UnicodeError:
        raise TickError("invalid_tick", "a field name or value is not UTF-8") from None
    try:
        # Lax: numbers arrive as text; the rules (Meta) are the same as for JSON.
        return msgspec.convert(text, Tick, strict=False)
    except msgspec.ValidationError as exc:
        raise TickError("invalid_tick", str(exc)) from None


def _decode_packed(value: bytes) -> Tick:
    try:
        values = value.decode().split(PACKED_SEP)
    except UnicodeError:
        raise TickError("invalid_tick", "the packed tick is not UTF-8") from None
    if len(values) not in _PACKED_LENGTHS:
        raise TickError("invalid_tick", f"a packed tick holds {' or '.join(map(str, _PACKED_LENGTHS))} values, "
                                        f"not {len(values)}")
    try:
        packed = msgspec.convert(values, _PackedTick, strict=False)
    except msgspec.ValidationError as exc:
        # Name the field, as the other forms do: `$[3]` is `$.volume`.
        raise TickError("invalid_tick", _AT_INDEX.sub(lambda m: f"`$.{_NAMES[int(m[1])]}`", str(exc))) from None
    return Tick(*msgspec.structs.astuple(packed))


def encode(tick: Tick) -> bytes:
    return _encoder.encode(tick)


def to_fields(tick: Tick) -> dict[bytes, bytes]:
    """The fields form: tick field order, numbers as their shortest text, unset extras left out."""
    return {
        name.encode(): str(value).encode()
        for name, value in zip(tick.__struct_fields__, msgspec.structs.astuple(tick), strict=True)
        if value is not None
    }


def to_packed(tick: Tick) -> dict[bytes, bytes]:
    """The packed form: the values of to_fields, in the same order, joined."""
    return {PACKED_FIELD: PACKED_SEP.encode().join(to_fields(tick).values())}


def payload(raw: Message) -> bytes:
    """A message as bytes, for a dead letter: JSON as received, or the fields as a JSON object of text."""
    if isinstance(raw, bytes):
        return raw
    return _encoder.encode({k.decode(errors="replace"): v.decode(errors="replace") for k, v in raw.items()})


def tick_digest(tick: Tick) -> str:
    """A digest of the tick's own fields (its canonical encoding, not the raw bytes).

    The same tick re-sent, even re-serialised with other spacing or key order,
    has the same digest. Unknown extra fields are not part of it.
    """
    return hashlib.blake2b(_encoder.encode(tick), digest_size=12).hexdigest()


def tick_identity(tick: Tick, digest: str | None = None) -> str:
    """A name for this tick that survives redelivery and republishing.

    `publisher:seq` when present; else a digest of the tick's content, so a
    producer that re-sends a spec-format tick after a failed write (a second
    stream entry, or a second pub/sub message) still names the same tick. The
    cost: two distinct ticks with identical content share a name, and only
    the first can yield a pattern event. Never the stream entry id, which a
    re-send changes. `digest`: tick_digest(tick) if the caller has it already.
    """
    if tick.publisher is not None:
        return f"{tick.publisher}:{tick.seq}"
    return "digest:" + (tick_digest(tick) if digest is None else digest)
