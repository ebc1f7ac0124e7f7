"""Register decoding, byte/word orders, scale/offset, bit fields and the read planner (pure, no I/O)."""

import math
import random
import struct

import pytest

from mro_bridge.decode import (
    BYTE_ORDERS,
    DATA_TYPES,
    BlockDecoder,
    DecodeError,
    RegisterField,
    Span,
    bytes_to_registers,
    decode_raw,
    encode_raw,
    plan_reads,
    registers_to_bytes,
    wire_address,
)

# 123.456 as float32 is 0x42F6E979: bytes A=42 B=F6 C=E9 D=79.
FLOAT_REGISTERS = {
    "ABCD": [0x42F6, 0xE979],
    "CDAB": [0xE979, 0x42F6],
    "BADC": [0xF642, 0x79E9],
    "DCBA": [0x79E9, 0xF642],
}
# 0x0102030405060708 as uint64: bytes A..H = 01..08.
UINT64_REGISTERS = {
    "ABCD": [0x0102, 0x0304, 0x0506, 0x0708],
    "CDAB": [0x0708, 0x0506, 0x0304, 0x0102],
    "BADC": [0x0201, 0x0403, 0x0605, 0x0807],
    "DCBA": [0x0807, 0x0605, 0x0403, 0x0201],
}


@pytest.mark.parametrize("order", BYTE_ORDERS)
def test_float32_in_every_order(order):
    assert decode_raw(FLOAT_REGISTERS[order], "float32", order) == pytest.approx(123.456, rel=1e-7)
    assert encode_raw(123.456, "float32", order) == FLOAT_REGISTERS[order]


@pytest.mark.parametrize("order", BYTE_ORDERS)
def test_64_bit_word_order_reverses_all_words(order):
    assert decode_raw(UINT64_REGISTERS[order], "uint64", order) == 0x0102030405060708
    assert encode_raw(0x0102030405060708, "uint64", order) == UINT64_REGISTERS[order]


def test_16_bit_types_only_see_the_byte_swap():
    assert decode_raw([0x1234], "uint16", "ABCD") == 0x1234
    assert decode_raw([0x1234], "uint16", "CDAB") == 0x1234
    assert decode_raw([0x1234], "uint16", "BADC") == 0x3412
    assert decode_raw([0x1234], "uint16", "DCBA") == 0x3412


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("int16", -1234),
        ("uint16", 65535),
        ("int32", -123456789),
        ("uint32", 4_000_000_000),
        ("int64", -(2**62) - 5),
        ("uint64", 2**64 - 1),
        ("float32", -0.15625),
        ("float64", 1234.5678901234),
    ],
)
@pytest.mark.parametrize("order", BYTE_ORDERS)
def test_every_type_round_trips(data_type, value, order):
    registers = encode_raw(value, data_type, order)
    assert len(registers) == DATA_TYPES[data_type][0]
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode_raw(registers, data_type, order) == value


def test_signed_types_read_twos_complement():
    assert decode_raw([0xFFFF], "int16") == -1
    assert decode_raw([0xFFFF, 0xFFFE], "int32") == -2
    assert decode_raw([0xFFFE, 0xFFFF], "int32", "CDAB") == -2


def test_bytes_helpers_are_inverse():
    data = bytes(range(1, 9))
    for order in BYTE_ORDERS:
        assert registers_to_bytes(bytes_to_registers(data, order), order) == data


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("data_type", ["float32", "float64"])
def test_nan_and_infinity_are_decode_errors(special, data_type):
    fmt = ">f" if data_type == "float32" else ">d"
    registers = bytes_to_registers(struct.pack(fmt, special))
    with pytest.raises(DecodeError, match="no valid value"):
        decode_raw(registers, data_type)
    with pytest.raises(DecodeError):
        RegisterField("holding", 0, data_type).decode(registers)


def test_wrong_register_count_and_unknown_order():
    with pytest.raises(DecodeError, match="needs 2 register"):
        decode_raw([1], "float32")
    with pytest.raises(ValueError, match="must be one of ABCD, CDAB, BADC, DCBA"):
        decode_raw([1, 2], "float32", "ABDC")
    with pytest.raises(ValueError, match="does not fit"):
        encode_raw(70000, "uint16")


def test_scale_and_offset():
    field = RegisterField("input", 10, "int16", scale=0.1, offset=-40.0)
    assert field.decode([655]) == pytest.approx(25.5)
    assert field.decode(field.encode(25.5)) == pytest.approx(25.5)
    overflow = RegisterField("holding", 0, "float64", scale=1e300)
    with pytest.raises(DecodeError, match="not a finite number"):
        overflow.decode(encode_raw(1e300, "float64"))


def test_bit_fields_and_bits():
    status = 0b1000_0000_0000_0101
    assert [RegisterField("holding", 0, "uint16", bit=b).decode([status]) for b in (0, 1, 2, 15)] == [1, 0, 1, 1]
    # bit numbering is on the decoded value, so a byte-swapped register reads the same bit
    swapped = RegisterField("holding", 0, "uint16", byte_order="BADC", bit=15)
    assert swapped.decode([0x0080]) == 1.0
    # a signed register: the bit of its two's complement
    assert RegisterField("holding", 0, "int16", bit=15).decode([0x8000]) == 1.0
    # bits of a 32-bit value
    assert RegisterField("holding", 0, "uint32", bit=16).decode([0x0001, 0x0000]) == 1.0
    assert RegisterField("coil", 3, "bool").decode([True]) == 1.0
    assert RegisterField("discrete", 3, "bool").decode([False]) == 0.0


def test_wire_address():
    assert wire_address(40, 0) == 40
    assert wire_address(40, 1) == 39
    with pytest.raises(ValueError, match="outside"):
        wire_address(0, 1)
    with pytest.raises(ValueError, match="0 or 1"):
        wire_address(5, 2)


def test_planner_joins_contiguous_and_small_gaps():
    spans = [
        Span("holding", 100, 2),
        Span("holding", 102, 2),
        Span("holding", 106, 2),  # gap of 2 -> joined with max_gap=4
        Span("holding", 120, 1),  # gap of 12 -> new request
        Span("input", 0, 4),
        Span("coil", 5, 1),
        Span("coil", 9, 1),
    ]
    plan = plan_reads(spans)
    assert [(r.table, r.address, r.count, r.members) for r in plan] == [
        ("holding", 100, 8, (0, 1, 2)),
        ("holding", 120, 1, (3,)),
        ("input", 0, 4, (4,)),
        ("coil", 5, 5, (5, 6)),
    ]
    assert plan[0].slice(spans[2]) == slice(6, 8)
    assert [r.count for r in plan_reads(spans[:3], max_gap=0)] == [4, 2]


def test_planner_respects_the_per_request_limit_and_overlaps():
    spans = [Span("holding", a, 2) for a in range(0, 300, 2)]
    plan = plan_reads(spans)
    assert [r.count for r in plan] == [124, 124, 52]
    assert sorted(i for r in plan for i in r.members) == list(range(150))
    assert all(r.count <= 125 for r in plan)
    small = plan_reads(spans[:5], max_registers=4)
    assert [(r.address, r.count) for r in small] == [(0, 4), (4, 4), (8, 2)]
    # overlapping spans (bit fields of the same register, a float on top of its halves) share one request
    overlap = plan_reads([Span("input", 7, 1), Span("input", 7, 1), Span("input", 6, 2)])
    assert [(r.address, r.count, sorted(r.members)) for r in overlap] == [(6, 2, [0, 1, 2])]
    bits = plan_reads([Span("discrete", a, 1) for a in range(0, 4000, 1)])
    assert [r.count for r in bits] == [2000, 2000]
    with pytest.raises(ValueError, match="exceed"):
        plan_reads([Span("holding", 0, 4)], max_registers=2)
    with pytest.raises(ValueError, match="unknown table"):
        plan_reads([Span("holdings", 0, 1)])
    assert plan_reads([]) == []


def _block(fields, max_gap=4):
    """The requests plan_reads makes for ``fields``, each with its BlockDecoder and its members' fields."""
    requests = plan_reads([Span(f.table, f.address, f.count) for f in fields], max_gap=max_gap)
    return [(r, [fields[i] for i in r.members], BlockDecoder(r, [fields[i] for i in r.members])) for r in requests]


def _per_field(request, fields, values):
    out = []
    for spec in fields:
        try:
            out.append(spec.decode(values[request.slice(Span(spec.table, spec.address, spec.count))]))
        except DecodeError as exc:
            out.append(exc)
    return out


def _same(a, b):
    if isinstance(a, DecodeError) or isinstance(b, DecodeError):
        return type(a) is type(b) and str(a) == str(b)
    return type(a) is type(b) is float and (a == b or (math.isnan(a) and math.isnan(b)))


def test_block_decoder_gives_what_each_field_gives():
    """Every type, byte order, bit and scale, on random registers (NaN and infinite floats among them, which
    the shortcut must hand to the per-field path for its error): value for value and error for error."""
    rng = random.Random(7)
    specials = [0x7FC0, 0x0000, 0x7F80, 0x0000, 0xFFF0, 0, 0, 0]  # float32 NaN and inf, float64 -NaN
    for _ in range(200):
        fields, address = [], rng.randrange(0, 50)
        for _ in range(rng.randrange(1, 12)):
            data_type = rng.choice([t for t in DATA_TYPES if t != "bool"])
            bit = rng.randrange(0, 16) if data_type in ("int16", "uint16") and rng.random() < 0.15 else None
            scale = rng.choice([1.0, 0.01, -2.5, 1e308])
            fields.append(
                RegisterField(
                    "holding", address, data_type, rng.choice(BYTE_ORDERS), bit, scale, rng.choice([0.0, 3.5])
                )
            )
            address += fields[-1].count + rng.randrange(0, 3) - (1 if rng.random() < 0.1 and address else 0)
        for request, members, decoder in _block(fields):
            values = [rng.randrange(0, 0x10000) for _ in range(request.count)]
            if rng.random() < 0.3:
                at = rng.randrange(0, request.count)
                values[at : at + 4] = specials[: len(values[at : at + 4])]
            got, want = decoder.decode(values), _per_field(request, members, values)
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert _same(g, w), (g, w, members)


def test_block_decoder_short_answers_bits_and_bad_registers_take_the_field_path():
    fields = [RegisterField("holding", 0, "int16", scale=0.1), RegisterField("holding", 1, "float32")]
    ((request, members, decoder),) = _block(fields)
    assert decoder.decode([12, *FLOAT_REGISTERS["ABCD"]]) == [pytest.approx(1.2), pytest.approx(123.456, rel=1e-6)]
    short = decoder.decode([12, 0x42F6])  # a device that answered fewer registers than asked
    assert short[0] == pytest.approx(1.2) and isinstance(short[1], DecodeError)
    bad = decoder.decode([70000, *FLOAT_REGISTERS["ABCD"]])  # not a 16-bit register value
    assert isinstance(bad[0], DecodeError) and "16-bit" in str(bad[0])
    assert bad[1] == pytest.approx(123.456, rel=1e-6)
    coils = [RegisterField("coil", 3, "bool"), RegisterField("coil", 5, "bool")]
    ((request, members, decoder),) = _block(coils)
    assert decoder.decode([True, False, False]) == [1.0, 0.0]
