"""Modbus register decoding and encoding, and the read planner that coalesces tags into few requests.

Pure functions, no I/O. Registers are 16-bit unsigned integers as pymodbus returns them.

Byte and word order
-------------------
Name the bytes of a value in big-endian order ``A B C D`` (``A`` most significant) for 32-bit types and
``A B C D E F G H`` for 64-bit types. The order string says how those bytes sit in consecutive registers
(register 0 is the lowest address):

===== ==================================== ============================= ===========================
order meaning                              32-bit: reg0 reg1             64-bit: reg0 reg1 reg2 reg3
===== ==================================== ============================= ===========================
ABCD  big endian (Modbus standard)         AB CD                         AB CD EF GH
CDAB  word swap: least significant word    CD AB                         GH EF CD AB
      first, bytes big endian in a word
BADC  byte swap inside each word, most     BA DC                         BA DC FE HG
      significant word first
DCBA  little endian                        DC BA                         HG FE DC BA
===== ==================================== ============================= ===========================

For 16-bit types only the byte half matters: ABCD and CDAB read a register as ``AB``; BADC and DCBA as
``BA``. In short: the order is "word order" (``AB..``/``BA..`` most significant word first, ``CD..``/``DC..``
least significant word first) combined with "byte order in a word" (``AB``/``CD`` big endian, ``BA``/``DC``
swapped), and for 64-bit values the word order reverses all four words.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

#: data type -> (registers, struct format of the big-endian value); bool is one coil / discrete input.
DATA_TYPES: dict[str, tuple[int, str]] = {
    "int16": (1, "h"),
    "uint16": (1, "H"),
    "int32": (2, "i"),
    "uint32": (2, "I"),
    "int64": (4, "q"),
    "uint64": (4, "Q"),
    "float32": (2, "f"),
    "float64": (4, "d"),
    "bool": (1, ""),
}
INTEGER_TYPES = ("int16", "uint16", "int32", "uint32", "int64", "uint64")
BYTE_ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
REGISTER_TABLES = ("holding", "input")
BIT_TABLES = ("coil", "discrete")
TABLES = REGISTER_TABLES + BIT_TABLES
#: The Modbus limits for one read request: 125 registers (function 3/4), 2000 bits (function 1/2).
MAX_REGISTERS = 125
MAX_BITS = 2000
#: Default number of unused registers (or bits) a request may read to join two tags into one request.
DEFAULT_MAX_GAP = 4


class DecodeError(ValueError):
    """Registers that do not make a usable value (NaN or infinity from a float register, bad length)."""


def register_count(data_type: str) -> int:
    """Registers (or bits, for ``bool``) one value of ``data_type`` occupies."""
    return DATA_TYPES[data_type][0]


def _swaps(byte_order: str) -> tuple[bool, bool]:
    """(least significant word first, bytes swapped inside a word) for an order string."""
    if byte_order not in BYTE_ORDERS:
        raise ValueError(f"byte order must be one of {', '.join(BYTE_ORDERS)}, not {byte_order!r}")
    return byte_order in ("CDAB", "DCBA"), byte_order in ("BADC", "DCBA")


def registers_to_bytes(registers: Sequence[int], byte_order: str = "ABCD") -> bytes:
    """The value's bytes in big-endian order (``ABCD...``) from its registers as read on the wire."""
    word_swap, byte_swap = _swaps(byte_order)
    words = list(reversed(registers)) if word_swap else list(registers)
    out = bytearray()
    for word in words:
        if not 0 <= word <= 0xFFFF:
            raise DecodeError(f"register value {word!r} is not a 16-bit unsigned integer")
        out += bytes((word & 0xFF, word >> 8)) if byte_swap else bytes((word >> 8, word & 0xFF))
    return bytes(out)


def bytes_to_registers(data: bytes, byte_order: str = "ABCD") -> list[int]:
    """The registers to put on the wire for a value whose big-endian bytes are ``data`` (even length)."""
    word_swap, byte_swap = _swaps(byte_order)
    if len(data) % 2:
        raise ValueError("a register value needs an even number of bytes")
    words = [
        (data[i + 1] << 8 | data[i]) if byte_swap else (data[i] << 8 | data[i + 1]) for i in range(0, len(data), 2)
    ]
    return list(reversed(words)) if word_swap else words


def decode_raw(registers: Sequence[int], data_type: str, byte_order: str = "ABCD") -> int | float:
    """The raw number (before scale and offset) stored in ``registers`` as ``data_type``; raises DecodeError
    for a wrong register count or a NaN/infinite float."""
    count, fmt = DATA_TYPES[data_type]
    if data_type == "bool":
        raise ValueError("bool values are read from coils or discrete inputs, not decoded from registers")
    if len(registers) != count:
        raise DecodeError(f"{data_type} needs {count} register(s), got {len(registers)}")
    value = struct.unpack(">" + fmt, registers_to_bytes(registers, byte_order))[0]
    if isinstance(value, float) and not math.isfinite(value):
        raise DecodeError(f"{data_type} register(s) {_hex(registers)} hold {value} (the device reports no valid value)")
    return value


def encode_raw(value: int | float, data_type: str, byte_order: str = "ABCD") -> list[int]:
    """The registers that hold the raw ``value`` as ``data_type`` in ``byte_order`` (inverse of decode_raw)."""
    _count, fmt = DATA_TYPES[data_type]
    if data_type == "bool":
        raise ValueError("bool values are written to coils, not encoded in registers")
    if data_type in INTEGER_TYPES:
        value = int(value)
    try:
        data = struct.pack(">" + fmt, value)
    except struct.error as exc:
        raise ValueError(f"{value!r} does not fit in {data_type}: {exc}") from None
    return bytes_to_registers(data, byte_order)


def _hex(registers: Sequence[int]) -> str:
    return " ".join(f"{r:04X}" for r in registers)


@dataclass(frozen=True)
class RegisterField:
    """Where one tag's value lives and how to turn it into a float.

    ``table``: holding / input (registers) or coil / discrete (bits); ``address``: wire (0-based) address
    of the first register or bit; ``bit``: for integer types, read only that bit (0 = least significant)
    of the decoded unsigned value, giving 0 or 1; ``scale``/``offset``: value = raw * scale + offset."""

    table: str
    address: int
    data_type: str = "float32"
    byte_order: str = "ABCD"
    bit: int | None = None
    scale: float = 1.0
    offset: float = 0.0

    @property
    def count(self) -> int:
        """Registers (or bits) the field occupies."""
        return register_count(self.data_type)

    def decode(self, values: Sequence[int] | Sequence[bool]) -> float:
        """The scaled value from this field's registers (or its single bit); raises DecodeError."""
        if self.table in BIT_TABLES:
            if len(values) != 1:
                raise DecodeError(f"a bit field needs one bit, got {len(values)}")
            raw: int | float = 1 if values[0] else 0
        elif self.bit is not None:
            unsigned = "uint" + self.data_type.removeprefix("u").removeprefix("int")
            raw = (int(decode_raw(values, unsigned, self.byte_order)) >> self.bit) & 1
        else:
            raw = decode_raw(values, self.data_type, self.byte_order)
        value = raw * self.scale + self.offset
        if not math.isfinite(value):
            raise DecodeError(f"{raw!r} * {self.scale:g} + {self.offset:g} is not a finite number")
        return float(value)

    def encode(self, value: float) -> list[int]:
        """Registers holding ``value`` (already scaled) for this field: the inverse of :meth:`decode`
        (used by the simulator and tests)."""
        raw = (value - self.offset) / self.scale
        if self.data_type in INTEGER_TYPES:
            raw = round(raw)
        return encode_raw(raw, self.data_type, self.byte_order)


def wire_address(address: int, address_base: int) -> int:
    """The protocol (0-based) address for an ``address`` numbered from ``address_base`` (0 or 1)."""
    if address_base not in (0, 1):
        raise ValueError(f"address base must be 0 or 1, not {address_base!r}")
    wire = address - address_base
    if not 0 <= wire <= 0xFFFF:
        raise ValueError(f"address {address} (base {address_base}) is outside 0..65535 on the wire")
    return wire


@dataclass(frozen=True)
class Span:
    """A block one tag needs: ``count`` registers (or bits) from wire ``address`` in ``table``."""

    table: str
    address: int
    count: int

    @property
    def end(self) -> int:
        return self.address + self.count


@dataclass(frozen=True)
class ReadRequest:
    """One Modbus read: ``count`` registers (or bits) from wire ``address`` in ``table``; ``members`` are the
    indexes (into the planner's input) of the spans it covers."""

    table: str
    address: int
    count: int
    members: tuple[int, ...]

    def slice(self, span: Span) -> slice:
        """Where ``span``'s values sit in this request's response."""
        start = span.address - self.address
        return slice(start, start + span.count)


class BlockDecoder:
    """The values of a read request's members from its response, decoded in one pass.

    The common field (a register table, byte order ABCD, no bit) is read straight from the response packed
    into bytes once, with a struct compiled ahead: about ten times cheaper than :meth:`RegisterField.decode`
    per value, which matters at tens of thousands of values per second. Any other field, a response of another
    length than the request's, and a value the shortcut finds not finite go through
    :meth:`RegisterField.decode`, so results and errors are exactly its own.
    """

    def __init__(self, request: ReadRequest, fields: Sequence[RegisterField]):
        self.fields = list(fields)
        self.count = request.count
        registers = request.table in REGISTER_TABLES
        self._pack = struct.Struct(f">{request.count}H") if registers else None
        self._plan: list[tuple[slice, tuple[struct.Struct, int, float, float] | None]] = []
        for spec in self.fields:
            where = request.slice(Span(spec.table, spec.address, spec.count))
            fast = None
            if registers and spec.table == request.table and spec.bit is None and spec.byte_order == "ABCD":
                fmt = DATA_TYPES.get(spec.data_type, (0, ""))[1]
                if fmt:
                    fast = (struct.Struct(">" + fmt), 2 * where.start, spec.scale, spec.offset)
            self._plan.append((where, fast))

    def decode(self, values: Sequence[int] | Sequence[bool]) -> list[float | DecodeError]:
        """Each member's value, or the DecodeError that :meth:`RegisterField.decode` raises for it."""
        data = None
        if self._pack is not None and len(values) == self.count:
            try:
                data = self._pack.pack(*values)
            except struct.error:  # a value outside 0..65535: the per-field path says which
                data = None
        isfinite = math.isfinite
        out: list[float | DecodeError] = []
        for spec, (where, fast) in zip(self.fields, self._plan, strict=True):
            if data is not None and fast is not None:
                unpacker, at, scale, offset = fast
                value = unpacker.unpack_from(data, at)[0] * scale + offset
                if isfinite(value):
                    out.append(float(value))
                    continue
            try:
                out.append(spec.decode(values[where]))
            except DecodeError as exc:
                out.append(exc)
        return out


def plan_reads(
    spans: Sequence[Span], max_registers: int = MAX_REGISTERS, max_bits: int = MAX_BITS, max_gap: int = DEFAULT_MAX_GAP
) -> list[ReadRequest]:
    """Coalesce ``spans`` into the fewest contiguous read requests.

    Per table, spans sorted by address join the current request while the unused registers (or bits)
    between them are at most ``max_gap`` and the request stays within ``max_registers`` (register tables)
    or ``max_bits`` (coil/discrete) — the device's limits per request. Overlapping spans (e.g. several bit
    fields of one register) share a request. Requests come out ordered by table, then address.
    Raises ValueError for a span larger than the limit (it can never be read in one request)."""
    if max_gap < 0:
        raise ValueError("max_gap must be >= 0")
    unknown = {s.table for s in spans} - set(TABLES)
    if unknown:
        raise ValueError(f"unknown table(s) {', '.join(sorted(unknown))}; expected one of {', '.join(TABLES)}")
    requests: list[ReadRequest] = []
    for table in TABLES:
        limit = max_registers if table in REGISTER_TABLES else max_bits
        indexes = sorted((i for i, s in enumerate(spans) if s.table == table), key=lambda i: spans[i].address)
        start = end = -1
        members: list[int] = []
        for i in indexes:
            span = spans[i]
            if span.count > limit:
                raise ValueError(f"{span.count} {table} values at {span.address} exceed the {limit} per request")
            if members and span.address - end <= max_gap and max(end, span.end) - start <= limit:
                end = max(end, span.end)
                members.append(i)
                continue
            if members:
                requests.append(ReadRequest(table, start, end - start, tuple(members)))
            start, end, members = span.address, span.end, [i]
        if members:
            requests.append(ReadRequest(table, start, end - start, tuple(members)))
    return requests
